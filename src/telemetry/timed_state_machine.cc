#include "telemetry/timed_state_machine.h"

#include <chrono>

#include "telemetry/telemetry.h"

namespace cairn::telemetry {

int64_t TimedStateMachine::steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::optional<std::string> TimedStateMachine::apply(const raft::Entry& entry,
                                                   const raft::ConfState& conf) {
  ApplyTiming t{steady_ns(), unix_ns(), 0};
  std::optional<std::string> result = inner_.apply(entry, conf);
  if (!result) return result;  // deferred: timed when it is applied
  t.end_unix_ns = unix_ns();
  telemetry_.observe_raft_apply(static_cast<double>(steady_ns() - t.start_steady_ns) / 1e9);
  recent_[entry.index % kRemembered] = {entry.index, t};
  return result;
}

std::optional<ApplyTiming> TimedStateMachine::timing(raft::Index index) const {
  const auto& slot = recent_[index % kRemembered];
  if (slot.first != index || index == 0) return std::nullopt;
  return slot.second;
}

}  // namespace cairn::telemetry
