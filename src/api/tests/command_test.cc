#include "api/command.h"

#include <gtest/gtest.h>

namespace cairn::api {
namespace {

Command sample_batch() {
  WriteConfigs w;
  w.ns = "user-service";
  w.batch = true;
  w.ops.push_back({ConfigOp::kCreate, "a", R"({"x":1})", "desc", std::nullopt, std::nullopt});
  w.ops.push_back({ConfigOp::kUpdate, "b", "2", std::nullopt, 0, 7});
  w.ops.push_back({ConfigOp::kDelete, "c", std::nullopt, std::nullopt, std::nullopt, 3});
  return Command{"req-1", "alice", w};
}

TEST(Command, RoundTripsEveryType) {
  std::vector<Command> all = {
      Command{"r", "op", CreateNamespace{"ns", "d"}},
      Command{"r", "op", UpdateNamespace{4, "new", 0}},
      Command{"r", "op", UpdateNamespace{4, std::nullopt, std::nullopt}},
      Command{"r", "op", DeleteNamespace{9}},
      sample_batch(),
      Command{"r", "op", RollbackConfig{"ns", "k", 3, 5}},
  };
  for (const auto& c : all) {
    std::string bytes = encode_command(c);
    auto back = decode_command(bytes);
    ASSERT_TRUE(back.ok()) << back.error().details;
    EXPECT_EQ(encode_command(*back), bytes);
    EXPECT_EQ(back->body.index(), c.body.index());
  }
}

TEST(Command, FirstByteIsFormatVersion) {
  std::string bytes = encode_command(sample_batch());
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), kCommandFormatVersion);
}

TEST(Command, RejectsGarbageWithoutCrashing) {
  EXPECT_FALSE(decode_command("").ok());
  EXPECT_FALSE(decode_command(std::string(1, '\x02') + "{}").ok());  // future version
  EXPECT_FALSE(decode_command(std::string(1, '\x00') + "{}").ok());
  EXPECT_FALSE(decode_command(std::string(1, '\x01') + "{").ok());
  EXPECT_FALSE(decode_command(std::string(1, '\x01') + "[]").ok());
  EXPECT_FALSE(decode_command(std::string(1, '\x01') +
                              R"({"request_id":"r","operator":"o","type":"nope"})")
                   .ok());
  EXPECT_FALSE(decode_command(std::string(1, '\x01') +
                              R"({"request_id":"r","operator":"o","type":"config.write",)"
                              R"("namespace":"n","ops":[]})")
                   .ok());
  EXPECT_FALSE(decode_command(std::string(1, '\x01') +
                              R"({"request_id":"r","operator":"o","type":"namespace.delete",)"
                              R"("id":"7"})")
                   .ok());
  std::string bytes = encode_command(sample_batch());
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(decode_command(std::string_view(bytes).substr(0, cut)).ok()) << cut;
  }
}

}  // namespace
}  // namespace cairn::api
