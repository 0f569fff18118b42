#pragma once

// Progress of a long operation on a terminal (backup, restore, verify): bytes (or entries)
// done of the total, the rate and the time left, redrawn on one line of stderr at most five
// times a second. Quiet when stderr is not a terminal (piped, redirected, CI logs), so that
// scripts see only the final result.

#include <chrono>
#include <cstdint>
#include <string>

namespace cairn::cli {

/// One line of progress. Single-threaded: the thread doing the work calls update().
class Progress {
 public:
  enum class Unit { kBytes, kEntries };
  /// `enabled` false: never draws (tests, or a caller that knows better); by default it draws
  /// only when stderr is a terminal.
  explicit Progress(std::string label, Unit unit = Unit::kBytes, bool enabled = stderr_is_tty());
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// `done` of `total` (total 0: unknown).
  void update(uint64_t done, uint64_t total);
  /// Draws the last state and ends the line (only if anything was drawn).
  void finish();

  /// The line as it would be drawn at `elapsed_ms` (tested).
  static std::string render(const std::string& label, Unit unit, uint64_t done, uint64_t total,
                            int64_t elapsed_ms);
  static bool stderr_is_tty();

 private:
  void draw(bool force);
  std::string label_;
  Unit unit_;
  bool enabled_;
  bool drawn_ = false;
  uint64_t done_ = 0;
  uint64_t total_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace cairn::cli
