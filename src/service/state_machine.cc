#include "service/state_machine.h"

#include "service/watch_hub.h"

namespace cairn::service {

api::CommandResult ConfigStateMachine::apply(const api::Command& command, uint64_t index,
                                             int64_t timestamp_ms) {
  store::Applied applied = store_.apply(command, index, timestamp_ms);
  if (applied.result.ok()) {
    index_.apply(applied.changes);
    if (watch_) watch_->on_applied(applied.changes, applied.result.revision);
    for (auto& [on_applied, on_reload] : listeners_) on_applied(command, applied);
  }
  return std::move(applied.result);
}

void ConfigStateMachine::add_listener(AppliedListener on_applied, std::function<void()> on_reload) {
  listeners_.emplace_back(std::move(on_applied), std::move(on_reload));
}

void ConfigStateMachine::reloaded() {
  for (auto& [on_applied, on_reload] : listeners_) {
    if (on_reload) on_reload();
  }
}

api::CommandResult ConfigStateMachine::apply_encoded(std::string_view bytes, uint64_t index,
                                                     int64_t timestamp_ms) {
  auto command = api::decode_command(bytes);
  if (!command.ok()) {
    store_.mark_applied(index);
    return api::CommandResult::failure(
        api::make_error(api::Errc::kInternal, command.error().details));
  }
  return apply(*command, index, timestamp_ms);
}

}  // namespace cairn::service
