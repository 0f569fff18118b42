#include "frontends/native/watch_sse.h"

#include <atomic>

#include "api/wire.h"

namespace cairn::native {

namespace {

/// A change as the wire shows it: with its namespace in SSE events (`with_ns`), with its value
/// when asked for and there is one.
api::WatchChange wire_change(const core::WatchEvent& e, const ValueFn& values, bool with_ns) {
  api::WatchChange c;
  if (with_ns) c.ns = e.ns;
  c.key = e.key;
  c.operation = e.operation;
  c.version = e.version;
  c.revision = e.revision;
  if (values && e.value) c.value = values(e, &c.secret);
  return c;
}

/// A subscription written as Server-Sent Events. The SSE id (the revision to resume from) goes
/// on the last event of each revision, so a client cut off inside a batch resumes before it,
/// not after.
class SseSubscriber final : public core::Subscriber {
 public:
  SseSubscriber(http::StreamPtr writer, ValueFn values, GrayHooks gray)
      : writer_(std::move(writer)), values_(std::move(values)), gray_(std::move(gray)) {}

  void opened() override { writer_->write("retry: 1000\n\n"); }
  bool changes(const std::vector<core::WatchEvent>& given) override {
    std::vector<core::WatchEvent> overlaid;
    std::string release;
    if (gray_.overlay) {
      overlaid = given;
      release = gray_.overlay(overlaid);
    }
    const std::vector<core::WatchEvent>& events = gray_.overlay ? overlaid : given;
    std::string out;
    for (size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      out += "event: change\n";
      if (i + 1 == events.size() || events[i + 1].revision != e.revision) {
        out += "id: " + std::to_string(e.revision) + "\n";
      }
      out += "data: ";
      if (release.empty()) {
        api::append_json(out, wire_change(e, values_, true));
      } else {
        std::string one;
        api::append_json(one, wire_change(e, values_, true));
        if (!one.empty() && one.back() == '}') {
          one.pop_back();
          one += ",\"release\":\"" + release + "\"}";
        }
        out += one;
      }
      out += "\n\n";
    }
    return out.empty() || writer_->write(std::move(out));
  }
  void reset(const std::string& ns, uint64_t revision) override {
    writer_->write(sse_reset_event(ns, revision));
  }
  void heartbeat() override { writer_->write(": heartbeat\n\n"); }
  void end() override {
    if (gray_.ended && !ended_.exchange(true)) gray_.ended();
    writer_->close();
  }

 private:
  http::StreamPtr writer_;
  ValueFn values_;
  GrayHooks gray_;
  std::atomic<bool> ended_{false};
};

/// Runs later on an io thread, or right here if the client has already gone.
void cancel_on_hangup(core::WatchHub& hub, uint64_t id,
                      const std::shared_ptr<http::Cancellation>& cancellation) {
  if (id && cancellation) cancellation->on_cancel([&hub, id] { hub.cancel(id); });
}

}  // namespace

std::string watch_answer_json(const std::string& ns, const core::WatchAnswer& answer,
                              const ValueFn& values) {
  api::WatchPoll poll{ns, answer.changed, answer.reset, answer.revision, {}};
  poll.changes.reserve(answer.changes.size());
  for (const auto& e : answer.changes) poll.changes.push_back(wire_change(e, values, false));
  return api::to_json(poll);
}

std::string sse_reset_event(const std::string& ns, uint64_t revision) {
  return "event: reset\ndata: " + api::to_json(api::WatchReset{ns, revision}) + "\n\n";
}

void poll_watch(core::WatchHub& hub, const std::string& ns, uint64_t revision,
                core::WatchFilter filter, int64_t timeout_ms, core::WatchHub::AnswerFn answer,
                const std::shared_ptr<http::Cancellation>& cancellation) {
  cancel_on_hangup(hub, hub.poll(ns, revision, std::move(filter), timeout_ms, std::move(answer)),
                   cancellation);
}

void overlay_gray(const core::Release* release, std::vector<core::WatchEvent>& events) {
  if (!release) return;
  for (auto& e : events) {
    auto change = release->changes.find(e.key);
    if (change == release->changes.end()) continue;
    if (change->second) {
      e.value = std::make_shared<const std::string>(*change->second);
      e.operation = "UPDATE";
    } else {
      e.value.reset();
      e.operation = "DELETE";
    }
  }
}

void stream_watch(core::WatchHub& hub, const std::string& ns, uint64_t revision,
                  core::WatchFilter filter, ValueFn values, http::StreamPtr writer,
                  const std::shared_ptr<http::Cancellation>& cancellation, GrayHooks gray) {
  auto subscriber =
      std::make_shared<SseSubscriber>(std::move(writer), std::move(values), std::move(gray));
  cancel_on_hangup(hub, hub.subscribe(ns, revision, std::move(filter), std::move(subscriber)),
                   cancellation);
}

}  // namespace cairn::native
