#include "frontends/consul/codec.h"

#include <gtest/gtest.h>

namespace cairn::consul {
namespace {

TEST(ConsulCodec, GoDurations) {
  EXPECT_EQ(parse_go_duration_ms("5s"), 5000);
  EXPECT_EQ(parse_go_duration_ms("1m30s"), 90'000);
  EXPECT_EQ(parse_go_duration_ms("250ms"), 250);
  EXPECT_EQ(parse_go_duration_ms("1.5h"), 5'400'000);
  EXPECT_EQ(parse_go_duration_ms("300us"), 1);  // rounded up: never 0 when positive
  EXPECT_EQ(parse_go_duration_ms("1ns"), 1);
  EXPECT_EQ(parse_go_duration_ms("0"), 0);
  EXPECT_EQ(parse_go_duration_ms("10m"), kMaxWaitMs);
  EXPECT_EQ(parse_go_duration_ms("24h"), 86'400'000);
  for (const char* bad : {"", "5", "s", "5x", "-5s", "5 s", "1.s.", ".", "5s5", "25h",
                          "99999999999999999999999999999999999h", "1e3s", "+"}) {
    EXPECT_FALSE(parse_go_duration_ms(bad)) << bad;
  }
}

TEST(ConsulCodec, Uint64) {
  EXPECT_EQ(parse_uint64("0"), 0u);
  EXPECT_EQ(parse_uint64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parse_uint64("18446744073709551616"));
  EXPECT_FALSE(parse_uint64("-1"));
  EXPECT_FALSE(parse_uint64(""));
  EXPECT_FALSE(parse_uint64("1a"));
}

TEST(ConsulCodec, KeysSplitIntoNamespaceAndKey) {
  EXPECT_EQ(split_key("app/db/url").ns, "app");
  EXPECT_EQ(split_key("app/db/url").key, "db/url");
  EXPECT_EQ(split_key("app").ns, "app");
  EXPECT_EQ(split_key("app").key, "");
  EXPECT_EQ(split_key("app/").key, "");
  EXPECT_EQ(split_key("").ns, "");
}

TEST(ConsulCodec, FlagsRoundTripThroughTheDescription) {
  EXPECT_EQ(flags_description(0), "");
  EXPECT_EQ(flags_of(flags_description(42)), 42u);
  EXPECT_EQ(flags_of(flags_description(UINT64_MAX)), UINT64_MAX);
  EXPECT_EQ(flags_of("a native description"), 0u);
  EXPECT_EQ(flags_of("consul-flags:x"), 0u);
  EXPECT_FALSE(is_flags_description("consul-flags:"));
  EXPECT_TRUE(is_flags_description("consul-flags:7"));
}

TEST(ConsulCodec, EntryJson) {
  KvEntry e{"app/k", std::string("hi"), 3, 2, 2};
  EXPECT_EQ(kv_json(e),
            R"({"LockIndex":0,"Key":"app/k","Flags":3,"Value":"aGk=","CreateIndex":2,)"
            R"("ModifyIndex":2})");
  e.value.reset();
  EXPECT_NE(kv_json(e).find(R"("Value":null)"), std::string::npos);
  EXPECT_EQ(kv_array_json({}), "[]");
  EXPECT_EQ(string_array_json({"a", "b\"c"}), R"(["a","b\"c"])");
}

TEST(ConsulCodec, KeysWithSeparator) {
  std::vector<std::string> keys = {"app/a", "app/b/c", "app/b/d", "app/e/f/g"};
  EXPECT_EQ(list_keys(keys, "app/", ""), keys);
  EXPECT_EQ(list_keys(keys, "app/", "/"),
            (std::vector<std::string>{"app/a", "app/b/", "app/e/"}));
  EXPECT_EQ(list_keys(keys, "app", "/"), (std::vector<std::string>{"app/"}));
  EXPECT_EQ(list_keys(keys, "app/b", "/"), (std::vector<std::string>{"app/b/"}));
  EXPECT_TRUE(list_keys(keys, "zzz", "/").empty());
}

TEST(ConsulCodec, TxnBodies) {
  auto ok = parse_txn(R"([{"KV":{"Verb":"set","Key":"app/a","Value":"aGk=","Flags":5}},
                          {"kv":{"verb":"cas","key":"app/b","index":7}},
                          {"KV":{"Verb":"delete-tree","Key":"app/"}}])");
  ASSERT_TRUE(ok.ok()) << ok.error().text;
  ASSERT_EQ(ok->size(), 3u);
  EXPECT_EQ((*ok)[0].verb, Verb::kSet);
  EXPECT_EQ((*ok)[0].value, "hi");
  EXPECT_EQ((*ok)[0].flags, 5u);
  EXPECT_EQ((*ok)[1].verb, Verb::kCas);
  EXPECT_EQ((*ok)[1].index, 7u);
  EXPECT_EQ((*ok)[2].verb, Verb::kDeleteTree);

  EXPECT_TRUE(parse_txn("[]").ok());
  for (const char* bad :
       {"", "{", "{}", "[1]", R"([{"KV":1}])", R"([{"KV":{"Key":"a/b"}}])",
        R"([{"KV":{"Verb":"nope","Key":"a/b"}}])", R"([{"KV":{"Verb":"lock","Key":"a/b"}}])",
        R"([{"KV":{"Verb":"set","Key":"a/b","Value":"!!"}}])",
        R"([{"KV":{"Verb":"set","Key":"a/b","Flags":-1}}])",
        R"([{"KV":{"Verb":"set","Key":"a/b","Index":1.5}}])",
        R"([{"KV":{"Verb":"get"}}])", R"([{"Node":{"Verb":"get"}}])"}) {
    auto r = parse_txn(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().status, 400) << bad;
    }
  }
  std::string many = "[";
  for (size_t i = 0; i <= kMaxTxnOps; ++i) {
    if (i) many += ',';
    many += R"({"KV":{"Verb":"get","Key":"a/b"}})";
  }
  many += "]";
  auto r = parse_txn(many);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 413);
  EXPECT_EQ(r.error().text, "Transaction contains too many operations (65 > 64)");
}

}  // namespace
}  // namespace cairn::consul
