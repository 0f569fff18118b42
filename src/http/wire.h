#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/types.h"

namespace cairn::http {

/// True when the handler asked to close the connection after `res` (`Connection: close`).
bool asks_close(const Response& res);

/// Appends the status line and header block of a (non-streamed) response to `out`, exactly as
/// the server sends it: `Server: cairn` and the Content-Type unless the handler set its own (its
/// last one wins, at its place in the order), the handler's headers except Content-Length,
/// Transfer-Encoding and Connection, then `Connection` as HTTP/`version` needs it for
/// `keep_alive`, then `Content-Length: content_length`, then the empty line. This is the field
/// set and order Beast's `response<string_body>` produced with `keep_alive()` and
/// `prepare_payload()`. `version` is 10 or 11 (major * 10 + minor); `reason` the status text.
/// A 204 or 304 has neither Content-Type nor Content-Length (it has no content).
/// Pure; any thread.
void append_response_head(std::string& out, unsigned version, int status,
                          std::string_view reason, const Response& res, bool keep_alive,
                          size_t content_length);

/// Appends `v` in decimal.
void append_decimal(std::string& out, uint64_t v);

}  // namespace cairn::http
