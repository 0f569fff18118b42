#include "telemetry/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace cairn::telemetry {
namespace {

TEST(Metrics, CountersByLabels) {
  Registry r;
  auto& requests = r.counter("x_requests_total", "Requests", {"api", "status"});
  requests.with({"/a", "200"}).inc();
  requests.with({"/a", "200"}).inc(2);
  requests.with({"/b", "404"}).inc();
  EXPECT_EQ(requests.with({"/a", "200"}).value(), 3u);
  EXPECT_EQ(r.expose(),
            "# HELP x_requests_total Requests\n"
            "# TYPE x_requests_total counter\n"
            "x_requests_total{api=\"/a\",status=\"200\"} 3\n"
            "x_requests_total{api=\"/b\",status=\"404\"} 1\n");
}

TEST(Metrics, HistogramIsCumulativeWithInf) {
  Registry r;
  auto& h = r.histogram("x_seconds", "Latency", {"api"}, {0.01, 0.1, 1}).with({"/a"});
  for (double v : {0.005, 0.01, 0.05, 2.0}) h.observe(v);
  EXPECT_EQ(r.expose(),
            "# HELP x_seconds Latency\n"
            "# TYPE x_seconds histogram\n"
            "x_seconds_bucket{api=\"/a\",le=\"0.01\"} 2\n"
            "x_seconds_bucket{api=\"/a\",le=\"0.1\"} 3\n"
            "x_seconds_bucket{api=\"/a\",le=\"1\"} 3\n"
            "x_seconds_bucket{api=\"/a\",le=\"+Inf\"} 4\n"
            "x_seconds_sum{api=\"/a\"} 2.065\n"
            "x_seconds_count{api=\"/a\"} 4\n");
}

TEST(Metrics, GaugesCallbacksAndEscaping) {
  Registry r;
  r.gauge("x_up", "Up\\nor down\n", {"component"}).with({"a\"b\\c\nd"}).set(1);
  r.callback("x_items", "Items", MetricType::kGauge, {}, [] {
    return std::vector<Sample>{{{}, 7}};
  });
  EXPECT_EQ(r.expose(),
            "# HELP x_up Up\\\\nor down\\n\n"
            "# TYPE x_up gauge\n"
            "x_up{component=\"a\\\"b\\\\c\\nd\"} 1\n"
            "# HELP x_items Items\n"
            "# TYPE x_items gauge\n"
            "x_items 7\n");
}

TEST(Metrics, DuplicateNamesAreRefused) {
  Registry r;
  r.counter("x_total", "x", {});
  EXPECT_THROW(r.gauge("x_total", "x", {}), std::logic_error);
}

TEST(Metrics, ConcurrentIncrementsAreAllCounted) {
  Registry r;
  auto& c = r.counter("x_total", "x", {"t"});
  auto& h = r.histogram("x_seconds", "x", {}, api_latency_buckets()).with({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10'000; ++i) {
        c.with({std::to_string(i % 8)}).inc();
        h.observe(0.002 * t);
      }
    });
  }
  for (auto& t : threads) t.join();
  uint64_t total = 0;
  c.for_each([&](const LabelValues&, const Counter& v) { total += v.value(); });
  EXPECT_EQ(total, 40'000u);
  EXPECT_EQ(h.count(), 40'000u);
}

TEST(Metrics, FormatValue) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(-2), "-2");
  EXPECT_EQ(format_value(0.5), "0.5");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
}

// Issue 15 item 15: bounds and values print in their shortest round-trip form, so the seed's
// buckets read le="0.005", not le="0.0050000000000000001".
TEST(Metrics, FormatValueIsShortestRoundTrip) {
  EXPECT_EQ(format_value(0.005), "0.005");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(0.00025), "0.00025");
  EXPECT_EQ(format_value(0.0001), "0.0001");
  EXPECT_EQ(format_value(0.00001), "1e-05");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(0.1 + 0.2), "0.30000000000000004");  // exact, not rounded away
  for (double v : api_latency_buckets()) {
    EXPECT_EQ(std::stod(format_value(v)), v);
    EXPECT_LE(format_value(v).size(), 5u) << format_value(v);
  }
}

}  // namespace
}  // namespace cairn::telemetry
