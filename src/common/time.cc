#include "common/time.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace cairn {

int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t monotonic_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string format_utc(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

int64_t parse_duration_ms(const std::string& text) {
  if (text.empty()) return -1;
  size_t i = 0;
  int64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (n > (int64_t{1} << 40)) return -1;
    n = n * 10 + (text[i] - '0');
    ++i;
  }
  if (i == 0) return -1;
  std::string unit = text.substr(i);
  if (unit.empty() || unit == "ms") return n;
  if (unit == "s") return n * 1000;
  if (unit == "m") return n * 60 * 1000;
  if (unit == "h") return n * 3600 * 1000;
  return -1;
}

namespace {

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// `n` digits at `s[pos]` as a number; -1 when any is not a digit or the text is too short.
int64_t digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!is_digit(s[pos + i])) return -1;
    v = v * 10 + (s[pos + i] - '0');
  }
  return v;
}

}  // namespace

std::optional<Instant> parse_instant(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool all_digits = text.size() <= 16;
  for (char c : text) all_digits = all_digits && is_digit(c);
  if (all_digits) return Instant{digits(text, 0, text.size()), 1};
  // YYYY-MM-DDTHH:MM:SS
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[13] != ':' ||
      text[16] != ':' || (text[10] != 'T' && text[10] != 't' && text[10] != ' ')) {
    return std::nullopt;
  }
  const int64_t year = digits(text, 0, 4), month = digits(text, 5, 2), day = digits(text, 8, 2);
  const int64_t hour = digits(text, 11, 2), minute = digits(text, 14, 2);
  const int64_t second = digits(text, 17, 2);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return std::nullopt;
  size_t pos = 19;
  int64_t millis = 0;
  int64_t precision = 1000;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t n = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      if (n < 3) {
        millis = millis * 10 + (text[pos] - '0');
        precision /= 10;
      }
      ++pos;
      ++n;
    }
    if (n == 0 || n > 9) return std::nullopt;
    for (int64_t p = precision; p > 1; p /= 10) millis *= 10;
  }
  if (pos >= text.size()) return std::nullopt;
  int64_t offset_min = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int64_t oh = digits(text, pos + 1, 2), om = digits(text, pos + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59 || pos + 3 >= text.size() ||
        text[pos + 3] != ':') {
      return std::nullopt;
    }
    offset_min = (oh * 60 + om) * (text[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                       std::min<int64_t>(second, 59) - offset_min * 60;
  if (secs < 0) return std::nullopt;
  return Instant{secs * 1000 + millis, precision};
}

}  // namespace cairn
