// core::WatchHub with the native front-end's encoding (watch_sse.h): synthetic changes, no
// HTTP server. Every wait is bounded; nothing asserts on how long something took.
#include "core/watch_hub.h"

#include "frontends/native/watch_sse.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

namespace cairn::native {
namespace {

/// Values as stored (no secrets here): what Service::value_fn gives for plain values.
const ValueFn kValues = [](const core::WatchEvent& e, bool*) {
  return std::optional<std::string>(*e.value);
};

using namespace std::chrono_literals;
using core::WatchAnswer;
using core::WatchFilter;
using core::WatchHub;
using core::WatchOptions;

store::Change put(const std::string& ns, const std::string& key, int64_t version,
                  uint64_t revision, std::string value = "1", std::string op = "UPDATE") {
  store::Change c;
  c.kind = store::Change::Kind::kConfigPut;
  c.ns.name = ns;
  c.config.ns = ns;
  c.config.key = key;
  c.config.version = version;
  c.config.revision = revision;
  c.config.value = std::move(value);
  c.operation = std::move(op);
  return c;
}

/// Collects answers; wait() blocks (bounded) until one arrives.
struct Answers {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<WatchAnswer> got;
  WatchHub::AnswerFn fn() {
    return [this](const WatchAnswer& a) {
      std::lock_guard lock(mu);
      got.push_back(a);
      cv.notify_all();
    };
  }
  bool wait(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 10s, [&] { return got.size() >= n; });
  }
};

class RecordingStream : public http::StreamWriter {
 public:
  bool write(std::string data) override {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    text_ += data;
    return true;
  }
  void close() override {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  bool closed() const override {
    std::lock_guard lock(mu_);
    return closed_;
  }
  std::string text() const {
    std::lock_guard lock(mu_);
    return text_;
  }

 private:
  mutable std::mutex mu_;
  std::string text_;
  bool closed_ = false;
};

TEST(WatchFilter, KeysAndPrefix) {
  WatchFilter all;
  EXPECT_TRUE(all.matches("anything"));
  WatchFilter keys{{"a", "c"}, ""};
  EXPECT_TRUE(keys.matches("a"));
  EXPECT_FALSE(keys.matches("b"));
  WatchFilter prefix{{}, "db."};
  EXPECT_TRUE(prefix.matches("db.host"));
  EXPECT_FALSE(prefix.matches("db"));
}

TEST(WatchHub, HistoryIsBoundedByCountAndBytesAndResetsOldRevisions) {
  cache::Index index;  // empty: the namespace "changed since" check sees revision 0
  WatchOptions o;
  o.history = 4;
  o.history_bytes = 1 << 20;
  WatchHub hub(o, index, 0);
  for (uint64_t r = 1; r <= 10; ++r) hub.on_applied({put("ns", "k" + std::to_string(r), 1, r)}, r);
  EXPECT_EQ(hub.horizon(), 6u);
  Answers answers;
  poll_watch(hub, "ns", 7, {}, 0, answers.fn(), nullptr);
  ASSERT_TRUE(answers.wait(1));
  EXPECT_TRUE(answers.got[0].changed);
  EXPECT_EQ(answers.got[0].changes.size(), 3u);
  EXPECT_EQ(answers.got[0].revision, 10u);

  // Bytes: two 600-byte values do not fit in 1000 bytes.
  o.history = 100;
  o.history_bytes = 1000;
  WatchHub small(o, index, 0);
  small.on_applied({put("ns", "a", 1, 1, std::string(600, '1'))}, 1);
  small.on_applied({put("ns", "b", 1, 2, std::string(600, '2'))}, 2);
  EXPECT_EQ(small.horizon(), 1u);
}

TEST(WatchHub, BatchKeepsOneRevisionTogetherAndLatestPerKey) {
  cache::Index index;
  WatchHub hub({}, index, 0);
  hub.on_applied({put("ns", "a", 1, 1), put("ns", "b", 1, 1)}, 1);
  hub.on_applied({put("ns", "a", 2, 2, "2")}, 2);
  Answers answers;
  poll_watch(hub, "ns", 0, {}, 0, answers.fn(), nullptr);
  ASSERT_TRUE(answers.wait(1));
  const auto& c = answers.got[0].changes;
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].key, "b");
  EXPECT_EQ(c[1].key, "a");
  EXPECT_EQ(c[1].version, 2);
  EXPECT_EQ(watch_answer_json("ns", answers.got[0], kValues),
            R"({"namespace":"ns","changed":true,"reset":false,"revision":2,"changes":[)"
            R"({"key":"b","operation":"UPDATE","version":1,"revision":1,"value":1},)"
            R"({"key":"a","operation":"UPDATE","version":2,"revision":2,"value":2}]})");
}

TEST(WatchHub, HeldPollIsAnsweredByAMatchingChangeOnly) {
  cache::Index index;
  WatchHub hub({}, index, 5);
  Answers answers;
  poll_watch(hub, "ns", 5, WatchFilter{{"b"}, ""}, 10'000, answers.fn(), nullptr);
  EXPECT_EQ(hub.held_polls(), 1u);
  hub.on_applied({put("ns", "a", 1, 6)}, 6);
  hub.on_applied({put("other", "b", 1, 7)}, 7);
  EXPECT_EQ(hub.held_polls(), 1u);
  hub.on_applied({put("ns", "b", 3, 8)}, 8);
  ASSERT_TRUE(answers.wait(1));
  EXPECT_EQ(answers.got[0].changes.size(), 1u);
  EXPECT_EQ(answers.got[0].changes[0].key, "b");
  EXPECT_EQ(hub.held_polls(), 0u);
}

TEST(WatchHub, TimeoutAnswersUnchanged) {
  cache::Index index;
  WatchHub hub({}, index, 3);
  Answers answers;
  poll_watch(hub, "ns", 3, {}, 20, answers.fn(), nullptr);
  ASSERT_TRUE(answers.wait(1));
  EXPECT_FALSE(answers.got[0].changed);
  EXPECT_FALSE(answers.got[0].reset);
  EXPECT_EQ(answers.got[0].revision, 3u);
}

TEST(WatchHub, CancellationForgetsTheWatchEvenWhenAlreadyCancelled) {
  cache::Index index;
  WatchHub hub({}, index, 0);
  Answers answers;
  auto live = std::make_shared<http::Cancellation>();
  poll_watch(hub, "ns", 0, {}, 60'000, answers.fn(), live);
  auto gone = std::make_shared<http::Cancellation>();
  gone->cancel();
  poll_watch(hub, "ns", 0, {}, 60'000, answers.fn(), gone);
  EXPECT_EQ(hub.held_polls(), 1u);
  live->cancel();
  EXPECT_EQ(hub.held_polls(), 0u);
  EXPECT_TRUE(answers.got.empty());  // nobody to answer
}

TEST(WatchHub, ResetAllAndNamespaceDisableResetWatchers) {
  cache::Index index;
  WatchHub hub({}, index, 0);
  Answers answers;
  poll_watch(hub, "ns", 0, {}, 60'000, answers.fn(), nullptr);
  store::Change disable;
  disable.kind = store::Change::Kind::kNamespacePut;
  disable.ns.name = "ns";
  disable.ns.status = 0;
  hub.on_applied({disable}, 1);
  ASSERT_TRUE(answers.wait(1));
  EXPECT_TRUE(answers.got[0].reset);

  auto stream = std::make_shared<RecordingStream>();
  stream_watch(hub, "ns", 1, {}, ValueFn{}, stream, nullptr);
  poll_watch(hub, "ns", 1, {}, 60'000, answers.fn(), nullptr);
  hub.reset_all(42);
  ASSERT_TRUE(answers.wait(2));
  EXPECT_TRUE(answers.got[1].reset);
  EXPECT_EQ(answers.got[1].revision, 42u);
  EXPECT_TRUE(stream->closed());
  EXPECT_NE(stream->text().find("event: reset\ndata: {\"namespace\":\"ns\",\"revision\":42}"),
            std::string::npos);
  EXPECT_EQ(hub.open_streams(), 0u);
}

TEST(WatchHub, StreamGetsBacklogThenLiveEventsWithIdsPerRevision) {
  cache::Index index;
  WatchHub hub({}, index, 0);
  hub.on_applied({put("ns", "a", 1, 1, "10")}, 1);
  auto stream = std::make_shared<RecordingStream>();
  stream_watch(hub, "ns", 0, {}, kValues, stream, nullptr);
  hub.on_applied({put("ns", "b", 1, 2), put("ns", "c", 1, 2)}, 2);
  const std::string t = stream->text();
  EXPECT_NE(t.find("id: 1\ndata: {\"namespace\":\"ns\",\"key\":\"a\""), std::string::npos) << t;
  // Within one revision only the last event carries the id to resume from.
  EXPECT_NE(t.find("event: change\ndata: {\"namespace\":\"ns\",\"key\":\"b\""), std::string::npos)
      << t;
  EXPECT_NE(t.find("id: 2\ndata: {\"namespace\":\"ns\",\"key\":\"c\""), std::string::npos) << t;
  EXPECT_NE(t.find("\"value\":10"), std::string::npos);
}

TEST(WatchHub, PollsGivenTheSameChangesShareOneAnswerAndItsEncodings) {
  cache::Index index;
  WatchHub hub({}, index, 5);
  Answers answers;
  poll_watch(hub, "ns", 5, WatchFilter{{"a"}, ""}, 60'000, answers.fn(), nullptr);
  poll_watch(hub, "ns", 5, WatchFilter{{"a"}, ""}, 60'000, answers.fn(), nullptr);
  poll_watch(hub, "ns", 5, WatchFilter{{}, "a"}, 60'000, answers.fn(), nullptr);  // picks "a" too
  poll_watch(hub, "ns", 5, WatchFilter{{"b"}, ""}, 60'000, answers.fn(), nullptr);
  poll_watch(hub, "ns", 5, {}, 60'000, answers.fn(), nullptr);
  hub.on_applied({put("ns", "a", 2, 6), put("ns", "b", 2, 6)}, 6);
  ASSERT_TRUE(answers.wait(5));
  std::map<std::string, std::vector<const WatchAnswer*>> by_keys;  // the keys answered
  for (const auto& a : answers.got) {
    ASSERT_TRUE(a.changed);
    ASSERT_NE(a.shared, nullptr);
    std::string keys;
    for (const auto& c : a.changes) keys += c.key;
    by_keys[keys].push_back(&a);
  }
  ASSERT_EQ(by_keys["a"].size(), 3u);
  ASSERT_EQ(by_keys["b"].size(), 1u);
  ASSERT_EQ(by_keys["ab"].size(), 1u);
  // The filters that pick the same changes share one SharedEncodings; the others have theirs.
  const auto& a = by_keys["a"];
  EXPECT_EQ(a[0]->shared, a[1]->shared);
  EXPECT_EQ(a[0]->shared, a[2]->shared);
  EXPECT_NE(a[0]->shared, by_keys["b"][0]->shared);
  EXPECT_NE(a[0]->shared, by_keys["ab"][0]->shared);
  EXPECT_NE(by_keys["b"][0]->shared, by_keys["ab"][0]->shared);

  // An encoding is made once per key and shared.
  int made = 0;
  auto encode = [&] {
    ++made;
    return watch_answer_json("ns", *a[0], ValueFn{});
  };
  auto first = a[0]->shared->get(kPollData, encode);
  auto second = a[1]->shared->get(kPollData, encode);
  EXPECT_EQ(first, second);
  EXPECT_EQ(made, 1);
  EXPECT_NE(first->find(R"("changes":[{"key":"a")"), std::string::npos) << *first;
  auto with_values = a[2]->shared->get(kPollDataValuesMasked,
                                       [&] { return watch_answer_json("ns", *a[2], kValues); });
  EXPECT_NE(with_values, first);
  EXPECT_NE(with_values->find(R"("value":1)"), std::string::npos) << *with_values;
}

/// Records what the hub hands a subscription, and with which SharedEncodings.
class SharingSubscriber : public core::Subscriber {
 public:
  bool changes(const std::vector<core::WatchEvent>& events) override {
    batches.push_back(events);
    shared.push_back(nullptr);
    return true;
  }
  bool changes(const std::vector<core::WatchEvent>& events,
               core::SharedEncodings& encodings) override {
    batches.push_back(events);
    shared.push_back(&encodings);
    return true;
  }
  void reset(const std::string&, uint64_t) override {}
  void heartbeat() override {}
  void end() override {}
  std::vector<std::vector<core::WatchEvent>> batches;
  std::vector<core::SharedEncodings*> shared;
};

TEST(WatchHub, StreamsGivenTheSameChangesShareTheirEncodings) {
  cache::Index index;
  WatchHub hub({}, index, 1);
  auto a1 = std::make_shared<SharingSubscriber>();
  auto a2 = std::make_shared<SharingSubscriber>();
  auto b = std::make_shared<SharingSubscriber>();
  hub.subscribe("ns", 1, WatchFilter{{"a"}, ""}, a1);
  hub.subscribe("ns", 1, WatchFilter{{"a"}, ""}, a2);
  hub.subscribe("ns", 1, WatchFilter{{"b"}, ""}, b);
  hub.on_applied({put("ns", "a", 1, 2), put("ns", "b", 1, 2)}, 2);
  ASSERT_EQ(a1->shared.size(), 1u);
  ASSERT_EQ(a2->shared.size(), 1u);
  ASSERT_EQ(b->shared.size(), 1u);
  ASSERT_NE(a1->shared[0], nullptr);
  EXPECT_EQ(a1->shared[0], a2->shared[0]);
  EXPECT_NE(a1->shared[0], b->shared[0]);
  EXPECT_EQ(a1->batches[0].size(), 1u);
  EXPECT_EQ(b->batches[0][0].key, "b");

  // The SSE text of streams given the same changes is the same text, made once.
  auto s1 = std::make_shared<RecordingStream>();
  auto s2 = std::make_shared<RecordingStream>();
  auto s3 = std::make_shared<RecordingStream>();
  stream_watch(hub, "ns", 2, WatchFilter{{"a"}, ""}, kValues, s1, nullptr);
  stream_watch(hub, "ns", 2, WatchFilter{{"a"}, ""}, kValues, s2, nullptr);
  stream_watch(hub, "ns", 2, WatchFilter{{"b"}, ""}, kValues, s3, nullptr);
  hub.on_applied({put("ns", "a", 2, 3, "7"), put("ns", "b", 2, 3, "8")}, 3);
  EXPECT_EQ(s1->text(), s2->text());
  EXPECT_NE(s1->text().find("id: 3\ndata: {\"namespace\":\"ns\",\"key\":\"a\""),
            std::string::npos)
      << s1->text();
  EXPECT_NE(s1->text().find("\"value\":7"), std::string::npos);
  EXPECT_EQ(s3->text().find("\"key\":\"a\""), std::string::npos) << s3->text();
  EXPECT_NE(s3->text().find("\"value\":8"), std::string::npos) << s3->text();
}

TEST(WatchHub, ShutdownAnswersHeldPollsAndEndsStreams) {
  cache::Index index;
  WatchHub hub({}, index, 9);
  Answers answers;
  poll_watch(hub, "ns", 9, {}, 60'000, answers.fn(), nullptr);
  auto stream = std::make_shared<RecordingStream>();
  stream_watch(hub, "ns", 9, {}, ValueFn{}, stream, nullptr);
  hub.shutdown();
  ASSERT_TRUE(answers.wait(1));
  EXPECT_FALSE(answers.got[0].changed);
  EXPECT_TRUE(stream->closed());
  poll_watch(hub, "ns", 9, {}, 60'000, answers.fn(), nullptr);  // answered at once after shutdown
  ASSERT_TRUE(answers.wait(2));
  hub.shutdown();  // idempotent
}

}  // namespace
}  // namespace cairn::native
