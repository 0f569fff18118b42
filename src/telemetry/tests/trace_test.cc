#include "telemetry/trace.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "telemetry/tests/receiver.h"

namespace cairn::telemetry {
namespace {

TEST(Trace, ParsesAndFormatsTraceparent) {
  auto c = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(c.valid());
  EXPECT_EQ(c.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c.span_id, "00f067aa0ba902b7");
  EXPECT_TRUE(c.sampled);
  EXPECT_EQ(format_traceparent(c), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_FALSE(
      parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01").valid());
  EXPECT_FALSE(parse_traceparent("garbage").valid());
}

TEST(Trace, ParsesEndpointUrls) {
  std::string host, port, path;
  ASSERT_TRUE(parse_http_url("http://127.0.0.1:4318", host, port, path));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, "4318");
  EXPECT_EQ(path, "/v1/traces");
  ASSERT_TRUE(parse_http_url("http://[::1]:9/custom/traces", host, port, path));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, "9");
  EXPECT_EQ(path, "/custom/traces");
  EXPECT_FALSE(parse_http_url("https://x:1", host, port, path));
  EXPECT_FALSE(parse_http_url("http://", host, port, path));
}

TEST(Trace, EncodesOtlpJson) {
  SpanRecord s;
  s.trace_id = std::string(32, 'a');
  s.span_id = std::string(16, 'b');
  s.parent_span_id = std::string(16, 'c');
  s.name = "GET /x";
  s.kind = SpanKind::kServer;
  s.start_ns = 1;
  s.end_ns = 2;
  s.attributes = {{"http.method", "GET"}};
  Json j = Json::parse(encode_otlp_json({s}, "cairn", "node1"));
  const Json& span = j["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(span["traceId"], s.trace_id);
  EXPECT_EQ(span["parentSpanId"], s.parent_span_id);
  EXPECT_EQ(span["kind"], 2);
  EXPECT_EQ(span["startTimeUnixNano"], "1");
  EXPECT_EQ(span["attributes"][0]["value"]["stringValue"], "GET");
  EXPECT_EQ(j["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"], "cairn");
}

SpanRecord span(int i) {
  SpanRecord s;
  s.trace_id = std::string(32, 'a');
  s.span_id = std::string(15, 'b') + static_cast<char>('0' + i % 10);
  s.name = "s" + std::to_string(i);
  return s;
}

TEST(Tracer, ExportsEverySpanOnFlush) {
  Receiver receiver;
  {
    TracerOptions o;
    o.endpoint = "http://127.0.0.1:" + std::to_string(receiver.port());
    o.batch_size = 2;
    Tracer tracer(o);
    ASSERT_TRUE(tracer.exporting());
    for (int i = 0; i < 5; ++i) tracer.record(span(i));
  }  // the destructor drains the queue
  size_t spans = 0;
  for (const auto& body : receiver.bodies()) {
    spans += Json::parse(body)["resourceSpans"][0]["scopeSpans"][0]["spans"].size();
  }
  EXPECT_EQ(spans, 5u);
}

TEST(Tracer, DropsAndCountsWhenTheQueueIsFull) {
  TracerOptions o;
  o.endpoint = "http://127.0.0.1:1";  // nothing listens: exports fail fast
  o.queue_capacity = 3;
  o.batch_size = 1000;
  o.flush_interval_ms = 60'000;  // keep everything queued
  o.timeout_ms = 200;
  Tracer tracer(o);
  for (int i = 0; i < 10; ++i) tracer.record(span(i));
  EXPECT_EQ(tracer.spans_dropped(), 7u);
  EXPECT_EQ(tracer.spans_exported(), 0u);
}

TEST(Tracer, ActiveScopeNestsAndRestores) {
  EXPECT_EQ(active_span(), nullptr);
  ActiveSpan outer{SpanContext{std::string(32, 'a'), std::string(16, 'b')}, nullptr};
  {
    ActiveScope a(&outer);
    EXPECT_EQ(active_span(), &outer);
    {
      ActiveScope b(nullptr);
      EXPECT_EQ(active_span(), nullptr);
    }
    EXPECT_EQ(active_span(), &outer);
  }
  EXPECT_EQ(active_span(), nullptr);
}

}  // namespace
}  // namespace cairn::telemetry
