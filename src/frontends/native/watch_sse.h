#pragma once

// The native front-end's encoding of watches (seed §3.8.4, docs/watch.md): long-poll answers
// as JSON and subscriptions as Server-Sent Events, over core::WatchHub.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/watch_hub.h"
#include "http/types.h"

namespace cairn::native {

/// A change's value as the watcher is shown it (core::Core::present: a secret masked or
/// revealed), setting `secret`; empty when values were not asked for.
using ValueFn = std::function<std::optional<std::string>(const core::WatchEvent&, bool* secret)>;

/// The `data` of a long poll's answer.
std::string watch_answer_json(const std::string& ns, const core::WatchAnswer& answer,
                              const ValueFn& values);
/// The SSE event that tells a stream to re-read the namespace (the stream ends after it).
std::string sse_reset_event(const std::string& ns, uint64_t revision);

/// A long poll held by `hub`, forgotten when the client hangs up (`cancellation`, may be null).
void poll_watch(core::WatchHub& hub, const std::string& ns, uint64_t revision,
                core::WatchFilter filter, int64_t timeout_ms, core::WatchHub::AnswerFn answer,
                const std::shared_ptr<http::Cancellation>& cancellation);

/// An SSE stream of the changes to `ns` after `revision` written to `writer` (with values when
/// `values`), ended when the client hangs up (`cancellation`, may be null).
void stream_watch(core::WatchHub& hub, const std::string& ns, uint64_t revision,
                  core::WatchFilter filter, ValueFn values, http::StreamPtr writer,
                  const std::shared_ptr<http::Cancellation>& cancellation);

}  // namespace cairn::native
