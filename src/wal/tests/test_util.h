#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "test_support.h"
#include "wal/wal.h"

namespace cairn::wal::test {

using TempDir = ::cairn::test::TempDir;

inline WalOptions options(const std::string& dir, uint64_t max_segment_bytes = 64ull << 20) {
  WalOptions o;
  o.dir = dir;
  o.max_segment_bytes = max_segment_bytes;
  o.log = [](const std::string&) {};  // recovery_notes() keeps them; keep test output quiet
  return o;
}

inline std::unique_ptr<WalLogStore> open_wal(const std::string& dir,
                                             uint64_t max_segment_bytes = 64ull << 20) {
  auto r = WalLogStore::open(options(dir, max_segment_bytes));
  if (!r) {
    ADD_FAILURE() << r.error();
    return nullptr;
  }
  return std::move(r).value();
}

/// Segment files of `dir`, sorted by name (= by first index).
inline std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& de : std::filesystem::directory_iterator(dir))
    if (de.path().extension() == ".wal") out.push_back(de.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Replaces `to` with a copy of `from` (files only; a WAL directory is flat).
inline void copy_dir(const std::string& from, const std::string& to) {
  std::filesystem::remove_all(to);
  std::filesystem::copy(from, to);
}

}  // namespace cairn::wal::test
