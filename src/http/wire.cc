#include "http/wire.h"

#include <algorithm>
#include <cctype>

namespace cairn::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

}  // namespace

void append_decimal(std::string& out, uint64_t v) {
  char digits[20];
  char* const end = digits + sizeof digits;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  out.append(p, end);
}

bool asks_close(const Response& res) {
  return std::any_of(res.headers.begin(), res.headers.end(), [](const auto& h) {
    return iequals(h.first, "connection") && iequals(h.second, "close");
  });
}

void append_response_head(std::string& out, unsigned version, int status,
                          std::string_view reason, const Response& res, bool keep_alive,
                          size_t content_length) {
  using Header = std::pair<std::string, std::string>;
  // 204 and 304 have no content: no Content-Type (RFC 9110 §15.4.5) and no Content-Length,
  // which a 204 must not carry and a 304 only with the length of the 200's content.
  const bool no_content = status == 204 || status == 304;
  const Header* last_server = nullptr;
  const Header* last_type = nullptr;
  for (const auto& h : res.headers) {
    if (iequals(h.first, "server")) last_server = &h;
    if (iequals(h.first, "content-type")) last_type = &h;
  }
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10 % 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
  out += ' ';
  append_decimal(out, static_cast<uint64_t>(status));
  out += ' ';
  out += reason;
  out += "\r\n";
  if (!last_server) out += "Server: cairn\r\n";
  if (!last_type && !no_content) append_field(out, "Content-Type", res.content_type);
  for (const auto& h : res.headers) {
    const std::string& name = h.first;
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
        iequals(name, "connection")) {
      continue;
    }
    if ((&h != last_server && iequals(name, "server")) ||
        ((&h != last_type || no_content) && iequals(name, "content-type"))) {
      continue;
    }
    append_field(out, name, h.second);
  }
  if (version < 11) {
    if (keep_alive) out += "Connection: keep-alive\r\n";
  } else if (!keep_alive) {
    out += "Connection: close\r\n";
  }
  if (!no_content) {
    out += "Content-Length: ";
    append_decimal(out, content_length);
    out += "\r\n";
  }
  out += "\r\n";
}

}  // namespace cairn::http
