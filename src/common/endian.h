#pragma once

// Fixed-width unsigned integers in a stated byte order, for on-disk and on-wire formats:
// little-endian in the WAL (records, meta file, CRC32C's word loads) and in the timestamp stamped
// before every Raft command; big-endian (network order) in the peer transport's frame header and
// the store's snapshot digest. Byte by byte, so a pointer need not be aligned and the host's byte
// order does not matter; compilers turn each loop into one load or store. Header-only: the SDK
// may include it too.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace cairn::endian {

/// Writes `v` to `dst[0 .. sizeof(T))`, least significant byte first. `T` is named by the
/// caller (`store_le<uint32_t>(p, v)`) so that the width on disk never follows an argument's type.
template <std::unsigned_integral T>
inline void store_le(void* dst, std::type_identity_t<T> v) {
  auto* p = static_cast<unsigned char*>(dst);
  for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

/// Reads `src[0 .. sizeof(T))` written by store_le.
template <std::unsigned_integral T>
inline T load_le(const void* src) {
  const auto* p = static_cast<const unsigned char*>(src);
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(p[i]) << (8 * i));
  return v;
}

/// Writes `v` to `dst[0 .. sizeof(T))`, most significant byte first (network order).
template <std::unsigned_integral T>
inline void store_be(void* dst, std::type_identity_t<T> v) {
  auto* p = static_cast<unsigned char*>(dst);
  for (size_t i = 0; i < sizeof(T); ++i) {
    p[i] = static_cast<unsigned char>(v >> (8 * (sizeof(T) - 1 - i)));
  }
}

/// Reads `src[0 .. sizeof(T))` written by store_be.
template <std::unsigned_integral T>
inline T load_be(const void* src) {
  const auto* p = static_cast<const unsigned char*>(src);
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | p[i]);
  return v;
}

/// Appends `v` to `out` as sizeof(T) little-endian bytes.
template <std::unsigned_integral T>
inline void append_le(std::string& out, std::type_identity_t<T> v) {
  unsigned char b[sizeof(T)];
  store_le<T>(b, v);
  out.append(reinterpret_cast<const char*>(b), sizeof(T));
}

/// Appends `v` to `out` as sizeof(T) big-endian bytes.
template <std::unsigned_integral T>
inline void append_be(std::string& out, std::type_identity_t<T> v) {
  unsigned char b[sizeof(T)];
  store_be<T>(b, v);
  out.append(reinterpret_cast<const char*>(b), sizeof(T));
}

}  // namespace cairn::endian
