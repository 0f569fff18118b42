#include "server/release_driver.h"

#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "common/time.h"

namespace cairn::server {

ReleaseDriver::ReleaseDriver(ReleaseDriverOptions options, core::Core& core,
                             core::Releases& releases, core::ClientRegistry& clients,
                             ClientsView* members)
    : options_(std::move(options)),
      core_(core),
      releases_(releases),
      clients_(clients),
      members_(members) {}

ReleaseDriver::~ReleaseDriver() { stop(); }

void ReleaseDriver::start() { thread_ = std::thread([this] { loop(); }); }

void ReleaseDriver::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Gathers still in flight finish on the members' client threads; they find stopping_ set.
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::seconds(5), [this] { return in_flight_.empty(); });
}

void ReleaseDriver::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.interval_ms));
    if (stopping_) break;
    lock.unlock();
    tick();
    lock.lock();
  }
}

void ReleaseDriver::tick() {
  if (options_.is_leader && !options_.is_leader()) return;
  for (const core::ReleasePtr& release : releases_.live()) {
    if (release->row.state != "active" || release->spec.stages.empty()) continue;
    {
      std::lock_guard lock(mu_);
      if (stopping_ || !in_flight_.insert(release->row.id).second) continue;
    }
    if (!members_) {
      evaluate(release, {});
      continue;
    }
    members_->gather(nullptr, "namespace=" + release->row.ns,
                     [this, release](std::vector<Json> views, Json) {
                       evaluate(release, std::move(views));
                     });
  }
}

void ReleaseDriver::evaluate(const core::ReleasePtr& release, std::vector<Json> views) {
  auto done = [this, id = release->row.id] {
    std::lock_guard lock(mu_);
    in_flight_.erase(id);
    cv_.notify_all();
  };
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      in_flight_.erase(release->row.id);
      cv_.notify_all();
      return;
    }
  }
  // The release as it is now: it may have moved while the members answered.
  core::ReleasePtr current = releases_.live_for(release->row.ns);
  if (!current || current->row.id != release->row.id) return done();
  core::ClientFilter filter;
  filter.ns = current->row.ns;
  views.push_back(clients_.view(filter, options_.node_id));
  const Json merged = core::merge_client_views(views);
  const core::ReleaseProgress progress = core::release_progress(*current, merged);
  const core::PlanStep step = core::plan_step(*current, progress, wall_clock_ms());
  if (step.action.empty()) return done();
  spdlog::info("release {}: {} (stage {}): {}", current->row.id, step.action, step.stage,
               step.reason);
  api::TransitionRelease cmd{current->row.id, current->row.ns, step.action, step.stage,
                             step.reason, true};
  api::Command command{"plan-" + current->row.id + "-" + step.action + "-" +
                           std::to_string(step.stage) + "-" + random_hex(4),
                       "cairn", std::move(cmd), ""};
  core_.submit(api::Principal::unrestricted("cairn"), std::move(command),
               [done, id = current->row.id](api::CommandResult result) {
                 if (!result.ok()) {
                   spdlog::warn("release {}: plan step not applied: {}", id, result.details);
                 }
                 done();
               });
}

}  // namespace cairn::server
