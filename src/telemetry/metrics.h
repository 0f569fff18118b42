#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cairn::telemetry {

/// Label values of one series, in the order of its family's label names.
using LabelValues = std::vector<std::string>;

/// A monotonically increasing count. Lock-free; any thread.
class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

/// A value that goes up and down. Lock-free; any thread.
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double d);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Observations counted into fixed buckets (upper bounds, ascending; +Inf is implicit).
/// observe() is lock-free; a snapshot taken during observes may be off by the ones in flight.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  /// Non-cumulative count per bucket; the last one is +Inf.
  std::vector<uint64_t> bucket_counts() const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

/// The series of one metric, one per distinct label values. with() finds or creates a series;
/// the reference stays valid for the family's lifetime, so hot paths with fixed labels may keep
/// it. Lookups are sharded by a hash of the values so concurrent requests rarely share a lock.
template <class M>
class Family {
 public:
  Family(std::vector<std::string> label_names, std::function<std::unique_ptr<M>()> make)
      : label_names_(std::move(label_names)), make_(std::move(make)) {}

  /// `values` must have as many entries as the family has label names.
  M& with(const LabelValues& values) {
    Shard& s = shards_[std::hash<std::string>{}(join(values)) % kShards];
    std::lock_guard lock(s.mu);
    auto it = s.series.find(values);
    if (it == s.series.end()) it = s.series.emplace(values, make_()).first;
    return *it->second;
  }
  const std::vector<std::string>& label_names() const { return label_names_; }
  /// Calls fn(values, series) for every series, sorted by label values.
  void for_each(const std::function<void(const LabelValues&, const M&)>& fn) const {
    std::map<LabelValues, const M*> all;
    for (const Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      for (const auto& [values, m] : s.series) all.emplace(values, m.get());
    }
    for (const auto& [values, m] : all) fn(values, *m);
  }

 private:
  static constexpr size_t kShards = 16;
  static std::string join(const LabelValues& values) {
    std::string key;
    for (const auto& v : values) key.append(v).push_back('\0');
    return key;
  }
  struct Shard {
    mutable std::mutex mu;
    std::map<LabelValues, std::unique_ptr<M>> series;
  };
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<M>()> make_;
  std::array<Shard, kShards> shards_;
};

/// One sample of a metric read at scrape time from a component's probe.
struct Sample {
  LabelValues labels;
  double value = 0;
};

enum class MetricType { kCounter, kGauge, kHistogram };

/// A node's metrics, and the only place that knows the Prometheus text format.
///
/// Metrics are registered once, before serving (names must be unique; registration is not
/// meant for hot paths); updates and expose() may then run on any thread concurrently.
/// Components never see the registry: they count in their own probes, which callback metrics
/// read at scrape time.
class Registry {
 public:
  Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> labels);
  Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> labels);
  Family<Histogram>& histogram(std::string name, std::string help, std::vector<std::string> labels,
                               std::vector<double> bounds);
  /// A counter or gauge whose samples `read` returns at each scrape (from any thread; it must
  /// be cheap and must not call back into the registry).
  void callback(std::string name, std::string help, MetricType type,
                std::vector<std::string> labels, std::function<std::vector<Sample>()> read);

  /// The Prometheus text exposition format 0.0.4 of every metric, in registration order.
  std::string expose() const;

 private:
  struct Entry {
    std::string name, help;
    MetricType type;
    std::unique_ptr<Family<Counter>> counters;
    std::unique_ptr<Family<Gauge>> gauges;
    std::unique_ptr<Family<Histogram>> histograms;
    std::vector<std::string> callback_labels;
    std::function<std::vector<Sample>()> read;
  };
  Entry& add(std::string name, std::string help, MetricType type);

  mutable std::mutex mu_;  // guards entries_ (the list, not the series)
  std::vector<std::unique_ptr<Entry>> entries_;
};

/// The content type of expose()'s output.
inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

/// Seed §3.7.4 buckets of the API latency (1 ms … 5 s), in seconds (Prometheus' base unit).
std::vector<double> api_latency_buckets();

/// A label value or HELP text escaped for the text format (`\\`, `\n`, and `"` in values).
std::string escape_label_value(const std::string& v);
/// A sample value or bucket bound: integers without a fraction, other values in the shortest
/// form that reads back as the same double ("0.005"), +Inf/-Inf/NaN spelled as Prometheus does.
std::string format_value(double v);

}  // namespace cairn::telemetry
