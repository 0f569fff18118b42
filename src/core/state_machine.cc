#include "core/state_machine.h"


namespace cairn::core {

api::CommandResult ConfigStateMachine::apply(const api::Command& command, uint64_t index,
                                             int64_t timestamp_ms) {
  store::Applied applied = store_.apply(command, index, timestamp_ms);
  if (!applied.result.ok()) return std::move(applied.result);
  api::CommandResult result = applied.result;
  if (grouping_) {
    held_.emplace_back(command, std::move(applied));
  } else {
    publish(command, applied);
  }
  return result;
}

void ConfigStateMachine::publish(const api::Command& command, const store::Applied& applied) {
  for (auto& [on_applied, on_reload] : before_index_) on_applied(command, applied);
  index_.apply(applied.changes);
  for (auto& [on_applied, on_reload] : listeners_) on_applied(command, applied);
}

void ConfigStateMachine::begin_group() {
  store_.begin_group();
  grouping_ = true;
}

bool ConfigStateMachine::finish_group() {
  grouping_ = false;
  auto held = std::move(held_);
  held_.clear();
  if (!store_.commit_group()) return false;
  for (const auto& [command, applied] : held) publish(command, applied);
  return true;
}

void ConfigStateMachine::add_listener(AppliedListener on_applied, std::function<void()> on_reload) {
  listeners_.emplace_back(std::move(on_applied), std::move(on_reload));
}

void ConfigStateMachine::add_listener_before_index(AppliedListener on_applied,
                                                   std::function<void()> on_reload) {
  before_index_.emplace_back(std::move(on_applied), std::move(on_reload));
}

void ConfigStateMachine::reloaded() {
  for (auto& [on_applied, on_reload] : before_index_) {
    if (on_reload) on_reload();
  }
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

}  // namespace cairn::core
