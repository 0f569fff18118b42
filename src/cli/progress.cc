#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace cairn::cli {
namespace {

std::string amount(uint64_t n, Progress::Unit unit) {
  char buf[32];
  if (unit == Progress::Unit::kEntries) {
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
    return buf;
  }
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string duration(int64_t seconds) {
  char buf[32];
  if (seconds >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds / 60 % 60));
  } else if (seconds >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(seconds));
  }
  return buf;
}

}  // namespace

bool Progress::stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label, Unit unit, bool enabled)
    : label_(std::move(label)), unit_(unit), enabled_(enabled),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { finish(); }

std::string Progress::render(const std::string& label, Unit unit, uint64_t done, uint64_t total,
                             int64_t elapsed_ms) {
  std::string line = label + ": " + amount(done, unit);
  if (total > 0) {
    char pct[16];
    std::snprintf(pct, sizeof pct, " (%.0f%%)", 100.0 * static_cast<double>(done) /
                                                   static_cast<double>(total));
    line += " of " + amount(total, unit) + pct;
  }
  if (elapsed_ms > 0) {
    const double per_s = static_cast<double>(done) * 1000.0 / static_cast<double>(elapsed_ms);
    line += ", " + amount(static_cast<uint64_t>(per_s), unit) + "/s";
    if (total > done && per_s > 0) {
      line += ", " +
              duration(static_cast<int64_t>(static_cast<double>(total - done) / per_s + 0.5)) +
              " left";
    }
  }
  return line;
}

void Progress::update(uint64_t done, uint64_t total) {
  done_ = done;
  total_ = total;
  draw(false);
}

void Progress::draw(bool force) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && drawn_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - start_).count();
  std::string line = render(label_, unit_, done_, total_, ms);
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (!enabled_ || !drawn_) return;
  draw(true);
  std::fputc('\n', stderr);
  std::fflush(stderr);
  enabled_ = false;
}

}  // namespace cairn::cli
