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

/// Events as SSE `change` events; each with `"release":"<id>"` when `release` is given. The SSE
/// id (the revision to resume from) goes on the last event of each revision, so a client cut
/// off inside a batch resumes before it, not after.
std::string sse_changes(const std::vector<core::WatchEvent>& events, const ValueFn& values,
                        const std::string& release) {
  std::string out;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    out += "event: change\n";
    if (i + 1 == events.size() || events[i + 1].revision != e.revision) {
      out += "id: " + std::to_string(e.revision) + "\n";
    }
    out += "data: ";
    if (release.empty()) {
      api::append_json(out, wire_change(e, values, true));
    } else {
      std::string one;
      api::append_json(one, wire_change(e, values, true));
      if (!one.empty() && one.back() == '}') {
        one.pop_back();
        one += ",\"release\":\"" + release + "\"}";
      }
      out += one;
    }
    out += "\n\n";
  }
  return out;
}

/// A subscription written as Server-Sent Events (sse_changes).
class SseSubscriber final : public core::Subscriber {
 public:
  SseSubscriber(http::StreamPtr writer, ValueFn values, bool values_alike, GrayHooks gray)
      : writer_(std::move(writer)),
        values_(std::move(values)),
        values_alike_(values_alike),
        gray_(std::move(gray)) {}

  void opened() override { writer_->write("retry: 1000\n\n"); }
  bool changes(const std::vector<core::WatchEvent>& events) override {
    return write_changes(events, nullptr);
  }
  bool changes(const std::vector<core::WatchEvent>& events,
               core::SharedEncodings& shared) override {
    return write_changes(events, &shared);
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
  /// Events as SSE text; with `shared`, the text is made once for every stream given the same
  /// events (SharedEncodings), unless this client's gray release changes them.
  bool write_changes(const std::vector<core::WatchEvent>& events,
                     core::SharedEncodings* shared) {
    if (events.empty()) return true;
    core::ReleasePtr release = gray_.release ? gray_.release(events.back().revision) : nullptr;
    if (release) {
      std::vector<core::WatchEvent> overlaid = events;
      overlay_gray(release.get(), overlaid);
      return writer_->write(sse_changes(overlaid, values_, release->row.id));
    }
    // Secrets shown in plain are per caller (and each reveal is audited): never shared.
    if (!shared || (values_ && !values_alike_)) {
      return writer_->write(sse_changes(events, values_, {}));
    }
    auto text = shared->get(values_ ? kStreamEventsValuesMasked : kStreamEvents,
                            [&] { return sse_changes(events, values_, {}); });
    return writer_->write(*text);
  }

  http::StreamPtr writer_;
  ValueFn values_;
  bool values_alike_;
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
                  const std::shared_ptr<http::Cancellation>& cancellation, GrayHooks gray,
                  bool values_alike) {
  auto subscriber = std::make_shared<SseSubscriber>(std::move(writer), std::move(values),
                                                    values_alike, std::move(gray));
  cancel_on_hangup(hub, hub.subscribe(ns, revision, std::move(filter), std::move(subscriber)),
                   cancellation);
}

}  // namespace cairn::native
