#pragma once

#include <string>
#include <string_view>

#include "cairn/errc.h"  // enum class Errc: the codes themselves, public for the SDK

namespace cairn::api {

/// One row of the error table: the HTTP status and the seed's message for a code.
struct ErrorInfo {
  int http_status;
  std::string_view message;
};

/// Row for `code`; unknown values map to the 50001 row.
const ErrorInfo& error_info(Errc code);

/// Every code of the table, in ascending order (for docs and tests).
const Errc* all_error_codes(size_t* count);

/// An expected failure: the code plus a human-readable detail and, when a request field caused
/// it, the field's name. Plain value type.
struct Error {
  Errc code = Errc::kInternal;
  std::string details;
  std::string field;
  /// A JSON object text whose members are merged into the envelope's `error` object (e.g.
  /// `{"violations":[…]}` of a value refused by its namespace's schema, docs/schemas.md); empty
  /// when there is none.
  std::string extra = {};

  int http_status() const { return error_info(code).http_status; }
};

inline Error make_error(Errc code, std::string details, std::string field = {}) {
  return Error{code, std::move(details), std::move(field)};
}

}  // namespace cairn::api
