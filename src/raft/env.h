#pragma once

#include <cstdint>
#include <functional>

#include "raft/message.h"

namespace cairn::raft {

/// Carries messages to peers. send() hands over a message the node has finished with; delivery
/// is best effort (loss, duplication, reordering and delay are all tolerated by the protocol).
/// Messages from peers are delivered by calling Node::step() on the node's thread. send() is
/// called on the node's thread and must not call back into the Node synchronously. A real
/// transport sends encode(msg) framed on a connection. Lifetime: outlives the Node.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void send(Message msg) = 0;
};

/// Source of randomness (election timeout jitter). Injected so that a simulated run replays
/// exactly from its seed. Threads: the node's thread.
class Random {
 public:
  virtual ~Random() = default;
  virtual uint64_t next() = 0;
};

/// A small, fast, seedable Random (SplitMix64). Not thread-safe.
class SplitMix64 final : public Random {
 public:
  explicit SplitMix64(uint64_t seed) : s_(seed) {}
  uint64_t next() override {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

 private:
  uint64_t s_;
};

/// Monotonic time in milliseconds. The consensus core never reads it: it counts ticks. The
/// driver uses a Clock and a Timer to call Node::tick() every Config::tick_ms; the simulator
/// implements both with a fake clock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;
};

/// Schedules the periodic tick. The callback runs on the node's thread (e.g. an Asio strand).
/// Lifetime: cancelled when the Timer is destroyed.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void every(int64_t period_ms, std::function<void()> fn) = 0;
};

}  // namespace cairn::raft
