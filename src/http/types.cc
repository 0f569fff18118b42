#include "http/types.h"

#include <algorithm>

#include "common/address.h"

namespace cairn::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <class Pairs>
std::optional<std::string_view> find_value(const Pairs& pairs, std::string_view name) {
  for (const auto& [k, v] : pairs) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

}  // namespace

const std::string* Request::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return &v;
  }
  return nullptr;
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  return find_value(query, name);
}

std::optional<std::string_view> Request::path_param(std::string_view name) const {
  return find_value(path_params, name);
}

Handler chain(std::vector<Middleware> middlewares, Handler last) {
  Handler next = std::move(last);
  for (auto it = middlewares.rbegin(); it != middlewares.rend(); ++it) {
    next = [middleware = std::move(*it), inner = std::move(next)](RequestPtr req, Reply reply) {
      middleware(std::move(req), std::move(reply), inner);
    };
  }
  return next;
}

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;  // fewer than two characters follow
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

bool parse_target(std::string_view target, std::string& path,
                  std::vector<std::pair<std::string, std::string>>& query) {
  path.clear();
  query.clear();
  if (target.empty() || target.front() != '/') return false;
  size_t qmark = target.find('?');
  if (!percent_decode(target.substr(0, qmark), path, false)) return false;
  if (qmark == std::string_view::npos) return true;

  std::string_view rest = target.substr(qmark + 1);
  query.reserve(1 + static_cast<size_t>(std::count(rest.begin(), rest.end(), '&')));
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view piece = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (piece.empty()) continue;  // "a=1&&b=2"
    size_t eq = piece.find('=');
    std::string name, value;
    if (!percent_decode(piece.substr(0, eq), name, true)) return false;
    if (eq != std::string_view::npos && !percent_decode(piece.substr(eq + 1), value, true)) {
      return false;
    }
    query.emplace_back(std::move(name), std::move(value));
  }
  return true;
}

void Cancellation::on_cancel(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    if (!cancelled_) {
      fn_ = std::move(fn);
      return;
    }
  }
  if (fn) fn();
}

void Cancellation::clear() {
  std::lock_guard lock(mu_);
  fn_ = nullptr;
}

bool Cancellation::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void Cancellation::cancel() {
  std::function<void()> fn;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    fn = std::move(fn_);
    fn_ = nullptr;
  }
  if (fn) fn();
}

std::string client_ip(const Request& req) { return std::string(host_of(req.remote_address)); }

}  // namespace cairn::http
