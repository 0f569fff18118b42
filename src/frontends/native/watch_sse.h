#pragma once

// The native front-end's encoding of watches (seed §3.8.4, docs/watch.md): long-poll answers
// as JSON and subscriptions as Server-Sent Events, over core::WatchHub.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/releases.h"

#include "core/watch_hub.h"
#include "http/types.h"

namespace cairn::native {

/// A change's value as the watcher is shown it (core::Core::present: a secret masked or
/// revealed), setting `secret`; empty when values were not asked for.
using ValueFn = std::function<std::optional<std::string>(const core::WatchEvent&, bool* secret)>;

/// The native front-end's encodings in core::SharedEncodings (made once per set of changes for
/// every watcher given them): values are included masked (secrets as "******") or not at all.
/// Secrets in plain are encoded per caller, never shared.
enum SharedEncoding : int {
  kPollData = 0,                   // watch_answer_json
  kPollDataValuesMasked = 1,
  kStreamEvents = 2,               // SSE `change` events
  kStreamEventsValuesMasked = 3,
};

/// The `data` of a long poll's answer.
std::string watch_answer_json(const std::string& ns, const core::WatchAnswer& answer,
                              const ValueFn& values);
/// The SSE event that tells a stream to re-read the namespace (the stream ends after it).
std::string sse_reset_event(const std::string& ns, uint64_t revision);

/// A long poll held by `hub`, forgotten when the client hangs up (`cancellation`, may be null).
void poll_watch(core::WatchHub& hub, const std::string& ns, uint64_t revision,
                core::WatchFilter filter, int64_t timeout_ms, core::WatchHub::AnswerFn answer,
                const std::shared_ptr<http::Cancellation>& cancellation);

/// Gray releases on a stream (docs/releases.md): `release` is called before each batch of
/// events is written, with the batch's last revision; it records the batch as sent to the
/// client and returns the client's release now (null when none), whose values then replace
/// those of the keys it changes. `ended` is called once when the stream ends. Either may be
/// null.
struct GrayHooks {
  std::function<core::ReleasePtr(uint64_t revision)> release;
  std::function<void()> ended;
};

/// Replaces, in `events`, the keys `release` changes with its values (null: nothing changes).
void overlay_gray(const core::Release* release, std::vector<core::WatchEvent>& events);

/// An SSE stream of the changes to `ns` after `revision` written to `writer` (with values when
/// `values`), ended when the client hangs up (`cancellation`, may be null). `values_alike`:
/// `values` shows every caller the same (secrets masked), so the events may be encoded once for
/// every stream given them.
void stream_watch(core::WatchHub& hub, const std::string& ns, uint64_t revision,
                  core::WatchFilter filter, ValueFn values, http::StreamPtr writer,
                  const std::shared_ptr<http::Cancellation>& cancellation, GrayHooks gray = {},
                  bool values_alike = true);

}  // namespace cairn::native
