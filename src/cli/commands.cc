#include "cli/commands.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/context.h"

namespace cairn::cli {

bool read_value(const std::string& arg, Json* value, std::string* error) {
  std::string text;
  bool from_input = false;
  if (arg == "-") {
    std::stringstream buf;
    buf << std::cin.rdbuf();
    text = buf.str();
    from_input = true;
  } else if (!arg.empty() && arg.front() == '@') {
    std::ifstream in(arg.substr(1), std::ios::binary);
    if (!in) {
      *error = "cannot read " + arg.substr(1);
      return false;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    text = buf.str();
    from_input = true;
  } else {
    text = arg;
  }
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) {
    *value = std::move(parsed);
    return true;
  }
  if (from_input && !text.empty() && text.back() == '\n') text.pop_back();
  *value = text;  // not JSON: a plain string value
  return true;
}

namespace {

/// Reads exactly `n` digits at `*pos` into `*out`.
bool digits(const std::string& s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool expect_char(const std::string& s, size_t* pos, const char* allowed) {
  if (*pos >= s.size() || std::strchr(allowed, s[*pos]) == nullptr) return false;
  ++*pos;
  return true;
}

}  // namespace

bool parse_instant(const std::string& text, TimePoint* at, std::string* error) {
  using namespace std::chrono;
  constexpr int64_t kMaxMs = 253402300799999;  // 9999-12-31T23:59:59.999Z
  if (text.empty()) {
    *error = "empty time";
    return false;
  }
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (text.size() > 15 || std::stoll(text) > kMaxMs) {
      *error = "Unix milliseconds beyond year 9999";
      return false;
    }
    *at = TimePoint(milliseconds(std::stoll(text)));
    return true;
  }
  size_t pos = 0;
  int y, mo, d, h, mi, sec;
  if (!digits(text, &pos, 4, &y) || !expect_char(text, &pos, "-") || !digits(text, &pos, 2, &mo) ||
      !expect_char(text, &pos, "-") || !digits(text, &pos, 2, &d) ||
      !expect_char(text, &pos, "Tt ") || !digits(text, &pos, 2, &h) ||
      !expect_char(text, &pos, ":") || !digits(text, &pos, 2, &mi) ||
      !expect_char(text, &pos, ":") || !digits(text, &pos, 2, &sec)) {
    *error = "not a date-time YYYY-MM-DDTHH:MM:SS";
    return false;
  }
  int64_t ms = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (pos - start < 3) ms = ms * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start || pos - start > 9) {
      *error = "a fraction of a second takes 1 to 9 digits";
      return false;
    }
    for (size_t n = pos - start; n < 3; ++n) ms *= 10;
  }
  int offset_minutes = 0;
  if (expect_char(text, &pos, "Zz")) {
    // UTC
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!digits(text, &pos, 2, &oh) || !expect_char(text, &pos, ":") ||
        !digits(text, &pos, 2, &om) || oh > 23 || om > 59) {
      *error = "malformed zone offset (expected +HH:MM or -HH:MM)";
      return false;
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    *error = "no time zone (add Z for UTC, or an offset like +01:00)";
    return false;
  }
  if (pos != text.size()) {
    *error = "unexpected text after the time zone";
    return false;
  }
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok() || y < 1970) {
    *error = "no such date (years 1970-9999)";
    return false;
  }
  if (h > 23 || mi > 59 || sec > 59) {
    *error = "no such time of day";
    return false;
  }
  const auto local = sys_days(date) + hours(h) + minutes(mi) + seconds(sec) + milliseconds(ms);
  const auto utc = local - minutes(offset_minutes);
  if (utc.time_since_epoch().count() < 0) {
    *error = "before 1970-01-01T00:00:00Z";
    return false;
  }
  *at = time_point_cast<TimePoint::duration>(utc);
  return true;
}

std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      l += cells[i];
      if (i + 1 < cells.size()) l += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
  return out;
}

void register_client_commands(CLI::App& app, int& exit_code) {
  auto ctx = std::make_shared<Context>();
  ctx->exit_code = &exit_code;
  add_globals(app, *ctx);
  // In the order `cairn --help` lists them.
  add_get(app, ctx);
  add_put(app, ctx);
  add_create(app, ctx);
  add_delete(app, ctx);
  add_list(app, ctx);
  add_history(app, ctx);
  add_versions(app, ctx);
  add_diff(app, ctx);
  add_rollback(app, ctx);
  add_watch(app, ctx);
  add_ns(app, ctx);
  add_token(app, ctx);
  add_whoami(app, ctx);
  add_audit(app, ctx);
  add_cluster(app, ctx);
  add_clients(app, ctx);
  add_release(app, ctx);
  add_backup(app, ctx);
  add_transfer(app, ctx);
  add_secret(app, ctx);
}

}  // namespace cairn::cli
