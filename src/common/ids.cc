#include "common/ids.h"

#include <cstdint>
#include <random>

namespace cairn {
namespace {

std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen;
}

void append_hex(std::string& out, uint64_t v, int nibbles) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = nibbles - 1; i >= 0; --i) out += kHex[(v >> (i * 4)) & 0xf];
}

}  // namespace

std::string new_uuid() {
  uint64_t hi = rng()();
  uint64_t lo = rng()();
  hi = (hi & ~uint64_t{0xf000}) | 0x4000;                     // version 4
  lo = (lo & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);  // RFC 4122 variant
  std::string out;
  out.reserve(36);
  append_hex(out, hi >> 32, 8);
  out += '-';
  append_hex(out, (hi >> 16) & 0xffff, 4);
  out += '-';
  append_hex(out, hi & 0xffff, 4);
  out += '-';
  append_hex(out, lo >> 48, 4);
  out += '-';
  append_hex(out, lo & 0xffffffffffffULL, 12);
  return out;
}

void append_random_hex(std::string& out, size_t n_bytes) {
  for (size_t i = 0; i < n_bytes; i += 8) {
    size_t take = n_bytes - i < 8 ? n_bytes - i : 8;
    uint64_t v = 0;
    while (v == 0) v = rng()();  // a whole group of 8 bytes is never zero
    append_hex(out, v, static_cast<int>(take * 2));
  }
}

std::string random_hex(size_t n_bytes) {
  std::string out;
  out.reserve(n_bytes * 2);
  append_random_hex(out, n_bytes);
  return out;
}

}  // namespace cairn
