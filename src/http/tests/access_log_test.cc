#include "http/access_log.h"

#include <gtest/gtest.h>
#include <limits.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "common/json.h"
#include "http/middleware.h"

namespace cairn::http {
namespace {

/// Keeps every batch it is handed; optionally blocks in write() until released.
class FakeSink final : public AccessLogSink {
 public:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> batches;
    bool block = false;  // write() waits until this is false again
  };
  explicit FakeSink(std::shared_ptr<State> state) : state_(std::move(state)) {}

  void write(std::string_view lines) override {
    std::unique_lock lock(state_->mu);
    state_->cv.wait(lock, [this] { return !state_->block; });
    state_->batches.emplace_back(lines);
  }

 private:
  std::shared_ptr<State> state_;
};

std::string joined(FakeSink::State& s) {
  std::lock_guard lock(s.mu);
  std::string out;
  for (const auto& b : s.batches) out += b;
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(AccessLogWriter, WritesEveryLineInOrderFromOneThread) {
  auto state = std::make_shared<FakeSink::State>();
  AccessLogWriter writer(std::make_unique<FakeSink>(state), {1u << 20, 512, 1});
  std::string expected;
  for (int i = 0; i < 5000; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    ASSERT_TRUE(writer.append(line));
    expected += line;
  }
  writer.stop();
  EXPECT_EQ(joined(*state), expected);
  EXPECT_EQ(writer.written(), 5000u);
  EXPECT_EQ(writer.dropped(), 0u);
  for (const auto& b : state->batches) EXPECT_EQ(b.back(), '\n');  // whole lines only
}

TEST(AccessLogWriter, StopWritesEveryAcceptedLine) {
  auto state = std::make_shared<FakeSink::State>();
  // A writer that would linger an hour for a batch that never fills: stop() must not wait.
  AccessLogWriter writer(std::make_unique<FakeSink>(state), {1u << 20, 1u << 20, 3'600'000});
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(writer.append("x" + std::to_string(i) + "\n"));
  writer.stop();
  auto lines = split_lines(joined(*state));
  ASSERT_EQ(lines.size(), 100u);
  EXPECT_EQ(lines.front(), "x0");
  EXPECT_EQ(lines.back(), "x99");
  EXPECT_EQ(writer.written(), 100u);
  EXPECT_FALSE(writer.append("late\n"));  // after stop: dropped and counted
  EXPECT_EQ(writer.dropped(), 1u);
}

TEST(AccessLogWriter, ABlockedSinkDropsAndCountsWithoutBlockingTheProducer) {
  auto state = std::make_shared<FakeSink::State>();
  state->block = true;
  AccessLogWriter writer(std::make_unique<FakeSink>(state), {1024, 64, 0});
  const std::string pad(90, 'p');
  // The sink releases only after this loop: an append that waited for it would hang here.
  size_t accepted = 0;
  for (int i = 0; i < 1000; ++i) {
    accepted += writer.append(std::to_string(1000 + i) + pad + "\n") ? 1 : 0;
  }
  // At most 1,024 bytes were accepted (in the blocked batch plus waiting), ~96 bytes a line.
  EXPECT_LE(accepted, 1024u / 95);
  EXPECT_EQ(writer.dropped(), 1000u - accepted);
  {
    std::lock_guard lock(state->mu);
    state->block = false;
  }
  state->cv.notify_all();
  writer.stop();
  EXPECT_EQ(writer.written(), accepted);
  EXPECT_EQ(writer.written() + writer.dropped(), 1000u);
  // What was written is whole lines, in the order they were appended.
  auto lines = split_lines(joined(*state));
  ASSERT_EQ(lines.size(), accepted);
  for (size_t i = 1; i < lines.size(); ++i) EXPECT_LT(lines[i - 1], lines[i]);
  for (const auto& l : lines) EXPECT_EQ(l.size(), 4 + pad.size());
}

TEST(AccessLogWriter, LinesFromSeveralThreadsAreAllWrittenEachThreadInOrder) {
  auto state = std::make_shared<FakeSink::State>();
  AccessLogWriter writer(std::make_unique<FakeSink>(state), {64u << 20, 4096, 1});
  constexpr int kThreads = 4, kLines = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&writer, t] {
      for (int i = 0; i < kLines; ++i) {
        writer.append(std::to_string(t) + " " + std::to_string(i) + "\n");
      }
    });
  }
  for (auto& t : threads) t.join();
  writer.stop();
  EXPECT_EQ(writer.dropped(), 0u);
  EXPECT_EQ(writer.written(), uint64_t{kThreads} * kLines);
  std::vector<int> next(kThreads, 0);
  for (const auto& line : split_lines(joined(*state))) {
    int t = -1, i = -1;
    ASSERT_EQ(std::sscanf(line.c_str(), "%d %d", &t, &i), 2) << line;
    ASSERT_TRUE(t >= 0 && t < kThreads) << line;
    EXPECT_EQ(i, next[t]) << line;
    next[t] = i + 1;
  }
  EXPECT_EQ(next, std::vector<int>(kThreads, kLines));
}

TEST(AccessLogWriter, StopWhileThreadsAppendLosesNoAcceptedLine) {
  // Every line is either written or counted as dropped, whatever stop() races with; a line
  // append() accepted is written (each thread's accepted lines form a prefix of what it sent).
  for (int trial = 0; trial < 20; ++trial) {
    auto state = std::make_shared<FakeSink::State>();
    AccessLogWriter writer(std::make_unique<FakeSink>(state), {4096, 512, 1});
    constexpr int kThreads = 3, kLines = 3000;
    std::vector<int> accepted(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&writer, &accepted, t] {
        for (int i = 0; i < kLines; ++i) {
          if (writer.append(std::to_string(t) + " " + std::to_string(i) + "\n")) ++accepted[t];
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200 * trial));
    writer.stop();
    for (auto& t : threads) t.join();
    EXPECT_EQ(writer.written() + writer.dropped(), uint64_t{kThreads} * kLines);
    std::vector<int> seen(kThreads, 0);
    for (const auto& line : split_lines(joined(*state))) {
      int t = -1, i = -1;
      ASSERT_EQ(std::sscanf(line.c_str(), "%d %d", &t, &i), 2) << line;
      ASSERT_TRUE(t >= 0 && t < kThreads) << line;
      ++seen[t];
    }
    EXPECT_EQ(seen, accepted);
    EXPECT_EQ(writer.written(), uint64_t(accepted[0] + accepted[1] + accepted[2]));
  }
}

std::string read_all(int fd) {
  std::string out;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

std::string sample_lines() {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "{\"n\":" + std::to_string(i) + "}\n";
  text += std::string(3 * PIPE_BUF, 'L') + "\n";  // a line longer than one atomic pipe write
  text += "last\n";
  return text;
}

TEST(FdAccessLogSink, WritesEveryByteToAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string text = sample_lines();
  std::thread writer([&] {
    fd_access_log_sink(fds[1])->write(text);
    ::close(fds[1]);
  });
  std::string got = read_all(fds[0]);
  writer.join();
  ::close(fds[0]);
  EXPECT_EQ(got, text);
}

TEST(FdAccessLogSink, WritesEveryByteToAFile) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  const std::string text = sample_lines();
  fd_access_log_sink(::fileno(f))->write(text);
  ASSERT_EQ(::lseek(::fileno(f), 0, SEEK_SET), 0);
  EXPECT_EQ(read_all(::fileno(f)), text);
  std::fclose(f);
}

TEST(AccessLogRecord, IsWhatTheNodesSpdlogPatternWrites) {
  std::string out;
  access_log_record(out, 1795905643115, R"({"request_id":"a"})");
  EXPECT_EQ(out, "2026-11-28T22:40:43.115Z info {\"request_id\":\"a\"}\n");
  out.clear();
  access_log_record(out, 1795905643005, "{}", true);
  EXPECT_EQ(out, "2026-11-28T22:40:43.005Z \033[32minfo\033[m {}\n");

  // The same bytes as spdlog with the node's pattern (src/server/main.cc), except the time.
  std::ostringstream text;
  auto logger = std::make_shared<spdlog::logger>(
      "pattern", std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  logger->info("{}", "{}");
  std::regex shape(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info \{\}\n$)");
  EXPECT_TRUE(std::regex_match(text.str(), shape)) << text.str();
  EXPECT_TRUE(std::regex_match(out.substr(0, 25) + "info {}\n", shape)) << out;
}

TEST(AccessLogMiddleware, QueuesTheSameLineOnTheWriter) {
  auto state = std::make_shared<FakeSink::State>();
  auto writer = std::make_shared<AccessLogWriter>(std::make_unique<FakeSink>(state));
  auto req = std::make_shared<Request>();
  req->method = "GET";
  req->path = "/api/v1/config/get";
  req->query = {{"namespace", "ns1"}, {"key", "k1"}};
  req->request_id = "w-1";
  Handler h = chain({access_log_middleware({"node7", "1.2.3"}, {writer, false})},
                    [](RequestPtr, Reply reply) { reply(Response{}); });
  h(req, [](Response) {});
  writer->stop();
  const std::string text = joined(*state);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(text, m, std::regex(R"(^\S+ info (\{"request_id":.*\})\n$)")))
      << text;
  Json j = Json::parse(m[1].str());
  EXPECT_EQ(j["request_id"], "w-1");
  EXPECT_EQ(j["namespace"], "ns1");
  EXPECT_EQ(j["config_key"], "k1");
  EXPECT_EQ(j["node_id"], "node7");
  EXPECT_EQ(j["end_time"].get<int64_t>() - j["start_time"].get<int64_t>(), j["duration_ms"]);
}

// The line as it was built before issue 21 (a Json object, dumped): the hand-written line must
// be the same bytes, whatever the request holds.
std::string reference_line(const Request& req, const Response& res, int64_t duration_ms,
                           int64_t end_ms, const AccessLogOptions& options, const std::string& ns,
                           const std::string& key, int error_code) {
  const std::string* client_id = req.header("x-client-id");
  const std::string* user_agent = req.header("user-agent");
  const bool traced = is_valid_traceparent(req.traceparent);
  Json j = {{"request_id", req.request_id},
            {"trace_id", traced ? req.traceparent.substr(3, 32) : ""},
            {"span_id", traced ? req.traceparent.substr(36, 16) : ""},
            {"api", req.route ? std::string(req.route->path_template) : req.path},
            {"method", std::string(req.wire_method())},
            {"namespace", ns},
            {"config_key", key},
            {"duration_ms", duration_ms},
            {"status_code", res.status},
            {"error_code", error_code},
            {"client_id", client_id ? *client_id : ""},
            {"client_ip", client_ip(req)},
            {"user_agent", user_agent ? *user_agent : ""},
            {"node_id", options.node_id},
            {"version", options.version},
            {"start_time", end_ms - duration_ms},
            {"end_time", end_ms}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

TEST(AccessLogLine, IsByteForByteTheJsonDumpItReplaced) {
  const std::vector<std::string> odd = {"",
                                        "plain",
                                        "quote\"in",
                                        "back\\slash",
                                        "tab\tnew\nline\r",
                                        std::string("nul\0x", 5),
                                        "\x7f del",
                                        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                        "bad \xff\xfe utf8",
                                        "cut \xe2\x82",
                                        "\x01\x1f",
                                        "</script>",
                                        std::string(300, 'a')};
  for (const auto& v : odd) {
    Request req;
    req.method = "PUT";
    req.path = "/raw/" + v;
    req.query = {{"namespace", v}, {"key", v + "k"}};
    req.request_id = v;
    req.remote_address = "[::1]:80";
    req.headers = {{"x-client-id", v}, {"user-agent", v}};
    req.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    Response res;
    res.status = 503;
    res.body = R"({"code":50301,"message":"x"})";
    AccessLogOptions options{v + "n", v + "v"};
    EXPECT_EQ(access_log_line(req, res, 7, 1795905643115, options),
              reference_line(req, res, 7, 1795905643115, options, v, v + "k", 50301))
        << v;
    req.head = true;
    req.traceparent = "bad";
    req.headers.clear();
    static constexpr Route kRoute{"GET", "/api/v1/config/{namespace}"};
    req.route = &kRoute;
    res.body = v;
    EXPECT_EQ(access_log_line(req, res, -1, -5, options),
              reference_line(req, res, -1, -5, options, v, v + "k", 0))
        << v;
  }
}

}  // namespace
}  // namespace cairn::http
