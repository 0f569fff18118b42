#include "telemetry/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace cairn::telemetry {
namespace {

void atomic_add(std::atomic<double>& a, double d) {
  double old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old + d, std::memory_order_relaxed)) {
  }
}

std::string escape_help(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

/// `{a="x",b="y"}` (with `extra` appended, e.g. le="10"), or "" without labels.
std::string label_block(const std::vector<std::string>& names, const LabelValues& values,
                        const std::string& extra = {}) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + escape_label_value(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "{" : ",") + extra;
  if (!out.empty()) out += "}";
  return out;
}

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

void Gauge::add(double d) { atomic_add(value_, d); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end())) {
    throw std::invalid_argument("histogram bounds must ascend");
  }
}

void Histogram::observe(double v) {
  // Prometheus buckets are "less than or equal": the first bound >= v.
  size_t i =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::bucket_counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

Registry::Entry& Registry::add(std::string name, std::string help, MetricType type) {
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    if (e->name == name) throw std::logic_error("metric registered twice: " + name);
  }
  auto e = std::make_unique<Entry>();
  e->name = std::move(name);
  e->help = std::move(help);
  e->type = type;
  entries_.push_back(std::move(e));
  return *entries_.back();
}

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> labels) {
  Entry& e = add(std::move(name), std::move(help), MetricType::kCounter);
  e.counters = std::make_unique<Family<Counter>>(std::move(labels),
                                                 [] { return std::make_unique<Counter>(); });
  return *e.counters;
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> labels) {
  Entry& e = add(std::move(name), std::move(help), MetricType::kGauge);
  e.gauges =
      std::make_unique<Family<Gauge>>(std::move(labels), [] { return std::make_unique<Gauge>(); });
  return *e.gauges;
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> labels,
                                       std::vector<double> bounds) {
  Entry& e = add(std::move(name), std::move(help), MetricType::kHistogram);
  e.histograms = std::make_unique<Family<Histogram>>(
      std::move(labels),
      [bounds = std::move(bounds)] { return std::make_unique<Histogram>(bounds); });
  return *e.histograms;
}

void Registry::callback(std::string name, std::string help, MetricType type,
                        std::vector<std::string> labels,
                        std::function<std::vector<Sample>()> read) {
  if (type == MetricType::kHistogram)
    throw std::logic_error("callback histograms are not supported");
  Entry& e = add(std::move(name), std::move(help), type);
  e.callback_labels = std::move(labels);
  e.read = std::move(read);
}

std::string Registry::expose() const {
  std::vector<const Entry*> entries;
  {
    std::lock_guard lock(mu_);
    for (const auto& e : entries_) entries.push_back(e.get());
  }
  std::string out;
  for (const Entry* e : entries) {
    out += "# HELP " + e->name + " " + escape_help(e->help) + "\n";
    out += "# TYPE " + e->name + " " + type_name(e->type) + "\n";
    if (e->counters) {
      e->counters->for_each([&](const LabelValues& v, const Counter& c) {
        out += e->name + label_block(e->counters->label_names(), v) + " " +
               std::to_string(c.value()) + "\n";
      });
    } else if (e->gauges) {
      e->gauges->for_each([&](const LabelValues& v, const Gauge& g) {
        out += e->name + label_block(e->gauges->label_names(), v) + " " + format_value(g.value()) +
               "\n";
      });
    } else if (e->histograms) {
      const auto& names = e->histograms->label_names();
      e->histograms->for_each([&](const LabelValues& v, const Histogram& h) {
        auto counts = h.bucket_counts();
        uint64_t cumulative = 0;
        for (size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          std::string le = i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf";
          out += e->name + "_bucket" + label_block(names, v, "le=\"" + le + "\"") + " " +
                 std::to_string(cumulative) + "\n";
        }
        // _count is the +Inf bucket, so that the two always agree within one scrape.
        out += e->name + "_sum" + label_block(names, v) + " " + format_value(h.sum()) + "\n";
        out += e->name + "_count" + label_block(names, v) + " " + std::to_string(cumulative) + "\n";
      });
    } else if (e->read) {
      for (const Sample& s : e->read()) {
        out += e->name + label_block(e->callback_labels, s.labels) + " " + format_value(s.value) +
               "\n";
      }
    }
  }
  return out;
}

std::vector<double> api_latency_buckets() {
  return {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<int64_t>(v));
  }
  // The shortest text that reads back as the same double, %g style (what Prometheus' own
  // clients print): 0.005, not 0.0050000000000000001; 0.0001, not 1e-04.
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  (void)ec;  // 32 bytes hold any double
  return std::string(buf, end);
}

}  // namespace cairn::telemetry
