#include "api/command.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

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
      Command{"r", "op", UpdateNamespace{4, "new", 0, std::nullopt, std::nullopt}},
      Command{"r", "op",
              UpdateNamespace{4, std::nullopt, std::nullopt, std::nullopt, std::nullopt}},
      Command{"r", "op", DeleteNamespace{9}},
      sample_batch(),
      Command{"r", "op", RollbackConfig{"ns", "k", 3, 5}},
      Command{"r", "op", WriteConfigs{"new-ns", {{ConfigOp::kCreate, "k", "1", {}, {}, {}}}, false, true}},
  };
  for (const auto& c : all) {
    std::string bytes = encode_command(c);
    auto back = decode_command(bytes);
    ASSERT_TRUE(back.ok()) << back.error().details;
    EXPECT_EQ(encode_command(*back), bytes);
    EXPECT_EQ(back->body.index(), c.body.index());
  }
}

// decode_command decodes config.write without a JSON document (WriteDecoder); whatever it
// accepts it must decode as the document decoder does, and what it does not understand it must
// leave to it (same Command, or the same refusal).
TEST(Command, TheFastConfigWriteDecoderAgreesWithTheDocumentDecoder) {
  auto same = [](std::string_view bytes) {
    auto fast = decode_command(bytes);
    auto doc = detail::decode_command_document(bytes);
    ASSERT_EQ(fast.ok(), doc.ok()) << bytes;
    if (fast.ok()) {
      EXPECT_EQ(encode_command(*fast), encode_command(*doc)) << bytes;
      EXPECT_EQ(fast->client_ip, doc->client_ip) << bytes;
    } else {
      EXPECT_EQ(fast.error().details, doc.error().details) << bytes;
    }
  };
  std::vector<Command> commands = {sample_batch()};
  Command with_ip = sample_batch();
  with_ip.client_ip = "10.0.0.7";
  commands.push_back(with_ip);
  WriteConfigs odd{"ns", {{ConfigOp::kUpdate, "k\u00e9\n\"q\"", R"({"a":"\u2603 \"x\""})",
                           "d\t", -1000000, INT64_MIN}},
                   false, true, true};
  commands.push_back(Command{"r", "o", odd});
  commands.push_back(Command{"r", "o", WriteConfigs{"ns", {{ConfigOp::kDelete, "k", {}, {}, {}, {}}}}});
  for (const auto& c : commands) same(encode_command(c));

  const std::string v1 = std::string(1, '\x01');
  const std::string v7 = std::string(1, '\x07');
  const std::string ops = R"("ops":[{"op":"create","key":"k","value":"1"}])";
  for (const std::string& text : std::vector<std::string>{
           // what the fast path gives up on: the document decoder's answer stands
           R"({"request_id":"r","operator":"o","type":"config.write","namespace":"n",)" + ops +
               R"(,"extra":1})",
           R"({"request_id":"r","operator":"o","type":"config.write","namespace":"n","namespace":"m",)" +
               ops + "}",
           R"({"request_id":"r","operator":"o","type":"config.write","namespace":"n","ops":[]})",
           R"({"request_id":"r","operator":"o","type":"config.write","namespace":"n","ops":[{"op":"move","key":"k"}]})",
           R"({"request_id":"r","operator":"o","type":"config.write","namespace":"n","ops":[{"op":"create","key":"k","status":1000001}]})",
           R"({"request_id":"r","operator":"o","type":"config.write","namespace":"n","ops":[{"op":"create","key":"k","expected_version":1.5}]})",
           R"({"request_id":"r","operator":"o","type":"config.write","namespace":"n","ops":[{"op":"create","key":"k","expected_version":18446744073709551615}]})",
           R"({"request_id":"r","operator":"o","type":"config.write","namespace":"n","force":true,)" + ops + "}",
           R"({"request_id":"r","operator":"o","type":"config.write","namespace":"n","create_namespace":true,)" + ops + "}",
           R"({"request_id":"r","operator":"o","type":"config.write","namespace":"n","batch":"yes",)" + ops + "}",
           R"({"request_id":"r","operator":"o","type":"config.write",)" + ops + "}",
           R"({"request_id":"r","type":"config.write","namespace":"n",)" + ops + "}",
           R"({"request_id":"r","operator":"o","type":"config.rollback","namespace":"n","key":"k","target_version":1})",
           R"({"request_id":"r","operator":"o","type":"config.write","namespace":"n",)" + ops + "} trailing",
           R"({"request_id":"r","operator":"o","type":"config.write","namespace":"n",)" + ops,
       }) {
    same(v1 + text);
    same(v7 + text);
  }
}

TEST(Command, FirstByteIsFormatVersion) {
  // Commands of release 1 keep format 1 so that older nodes still read them.
  std::string bytes = encode_command(sample_batch());
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 1);
  std::string tag = encode_command(Command{"r", "o", TagVersion{"n", "k", 2, "t", false}});
  EXPECT_EQ(static_cast<uint8_t>(tag[0]), 2);
  UpdateNamespace u{4, std::nullopt, std::nullopt, 10, std::nullopt};
  EXPECT_EQ(static_cast<uint8_t>(encode_command(Command{"r", "o", u})[0]), 2);
}

TEST(Command, RoundTripsRetentionCommands) {
  std::vector<Command> all = {
      Command{"r", "op", TagVersion{"ns", "k", 3, "release-1", false}},
      Command{"r", "op", TagVersion{"ns", "k", 3, "release-1", true}},
      Command{"r", "op", CleanupVersions{}},
      Command{"r", "op", CleanupVersions{"ns", 5, 0, true}},
      Command{"r", "op", UpdateNamespace{4, std::nullopt, std::nullopt, 7, kRetentionReset}},
  };
  for (const auto& c : all) {
    std::string bytes = encode_command(c);
    auto back = decode_command(bytes);
    ASSERT_TRUE(back.ok()) << back.error().details;
    EXPECT_EQ(encode_command(*back), bytes);
    EXPECT_EQ(back->body.index(), c.body.index());
  }
  auto tag = decode_command(encode_command(all[1]));
  ASSERT_TRUE(tag.ok());
  const auto& t = std::get<TagVersion>(tag->body);
  EXPECT_EQ(t.ns, "ns");
  EXPECT_EQ(t.version, 3);
  EXPECT_EQ(t.tag, "release-1");
  EXPECT_TRUE(t.remove);
  auto cleanup = decode_command(encode_command(all[3]));
  ASSERT_TRUE(cleanup.ok());
  const auto& c = std::get<CleanupVersions>(cleanup->body);
  EXPECT_EQ(c.ns, std::optional<std::string>("ns"));
  EXPECT_EQ(c.keep_latest, std::optional<int64_t>(5));
  EXPECT_EQ(c.keep_days, std::optional<int64_t>(0));
  EXPECT_TRUE(c.dry_run);
  auto update = decode_command(encode_command(all[4]));
  ASSERT_TRUE(update.ok());
  EXPECT_EQ(std::get<UpdateNamespace>(update->body).keep_days,
            std::optional<int64_t>(kRetentionReset));
}

TEST(Command, RetentionCommandsNeedFormatTwo) {
  std::string tag = encode_command(Command{"r", "o", TagVersion{"n", "k", 2, "t", false}});
  tag[0] = '\x01';
  EXPECT_FALSE(decode_command(tag).ok());
  std::string cleanup = encode_command(Command{"r", "o", CleanupVersions{}});
  cleanup[0] = '\x01';
  EXPECT_FALSE(decode_command(cleanup).ok());
  EXPECT_FALSE(decode_command(std::string(1, '\x02') +
                              R"({"request_id":"r","operator":"o","type":"config.cleanup",)"
                              R"("dry_run":"yes"})")
                   .ok());
  EXPECT_FALSE(decode_command(std::string(1, '\x02') +
                              R"({"request_id":"r","operator":"o","type":"config.tag",)"
                              R"("namespace":"n","key":"k","version":1.5,"tag":"t"})")
                   .ok());
  std::string bytes = encode_command(Command{"r", "o", CleanupVersions{"ns", 5, 1, true}});
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(decode_command(std::string_view(bytes).substr(0, cut)).ok()) << cut;
  }
}

TEST(Command, RejectsGarbageWithoutCrashing) {
  EXPECT_FALSE(decode_command("").ok());
  EXPECT_FALSE(decode_command(std::string(1, '\x04') + "{}").ok());  // future version
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

namespace cairn::api {
namespace {

TEST(Command, RoundTripsMemberAddresses) {
  for (bool remove : {false, true}) {
    Command c{"r", "cluster", SetMemberAddress{4, "10.0.0.4:7001", "10.0.0.4:8001", remove}};
    std::string bytes = encode_command(c);
    auto back = decode_command(bytes);
    ASSERT_TRUE(back.ok()) << back.error().details;
    EXPECT_EQ(encode_command(*back), bytes);
    const auto& m = std::get<SetMemberAddress>(back->body);
    EXPECT_EQ(m.id, 4);
    EXPECT_EQ(m.peer, "10.0.0.4:7001");
    EXPECT_EQ(m.http, "10.0.0.4:8001");
    EXPECT_EQ(m.remove, remove);
  }
  // A member command without its remove flag is not a valid command.
  std::string bytes = encode_command(Command{"r", "o", SetMemberAddress{1, "p", "h", false}});
  auto at = bytes.find(",\"remove\":false");
  ASSERT_NE(at, std::string::npos);
  EXPECT_FALSE(decode_command(bytes.erase(at, 15)).ok());

  // A member kept a learner needs format 8; without the flag the command stays format 1, so a
  // node of an older release applies it during a rolling upgrade.
  SetMemberAddress learner{5, "p", "h", false};
  learner.learner = true;
  bytes = encode_command(Command{"r", "cluster", learner});
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 8);
  auto back = decode_command(bytes);
  ASSERT_TRUE(back.ok()) << back.error().details;
  EXPECT_TRUE(std::get<SetMemberAddress>(back->body).learner);
  EXPECT_EQ(static_cast<uint8_t>(encode_command(Command{"r", "o", SetMemberAddress{1, "p", "h", false}})[0]), 1);
  bytes[0] = 7;
  EXPECT_FALSE(decode_command(bytes).ok()) << "learner in format 7";
}

}  // namespace
}  // namespace cairn::api

namespace cairn::api {
namespace {

TEST(Command, RoundTripsTokenAndAuditCommands) {
  CreateToken create{"tok1", "svc-a", std::string(64, 'a'),
                     {{"a-*", "read"}, {"", "cluster-admin"}}, 1234};
  AppendAudit audit{{{5, "svc-a", "10.0.0.1", "GET /api/v1/config/get", "b", "k", 40301, "r1"},
                     {6, "", "10.0.0.2", "DELETE /api/v1/admin/config", "", "", 40101, "r2"}}};
  std::vector<Command> all = {Command{"r", "root", create, "127.0.0.1"},
                              Command{"r", "root", RevokeToken{"tok1"}}, Command{"r", "n", audit}};
  for (const auto& c : all) {
    std::string bytes = encode_command(c);
    EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 3);
    auto back = decode_command(bytes);
    ASSERT_TRUE(back.ok()) << back.error().details;
    EXPECT_EQ(encode_command(*back), bytes);
    EXPECT_EQ(back->client_ip, c.client_ip);
    // Format 2 readers refuse them (a node that cannot apply them must not skip them).
    bytes[0] = '\x02';
    EXPECT_FALSE(decode_command(bytes).ok());
  }
  auto back = decode_command(encode_command(all[0]));
  ASSERT_TRUE(back.ok());
  const auto& t = std::get<CreateToken>(back->body);
  EXPECT_EQ(t.name, "svc-a");
  ASSERT_EQ(t.grants.size(), 2u);
  EXPECT_EQ(t.grants[0].ns_pattern, "a-*");
  EXPECT_EQ(t.grants[1].permission, "cluster-admin");
  EXPECT_EQ(t.expires_at_ms, 1234);
  auto entries = std::get<AppendAudit>(decode_command(encode_command(all[2]))->body).entries;
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].code, 40301);
  EXPECT_EQ(entries[1].client_ip, "10.0.0.2");
}

TEST(Command, AuditRetentionNeedsFormatThree) {
  api::CleanupVersions c;
  EXPECT_EQ(static_cast<uint8_t>(encode_command(Command{"r", "o", c})[0]), 2);
  c.audit_keep_days = 90;
  std::string bytes = encode_command(Command{"r", "o", c});
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 3);
  auto back = decode_command(bytes);
  ASSERT_TRUE(back.ok()) << back.error().details;
  EXPECT_EQ(std::get<CleanupVersions>(back->body).audit_keep_days, std::optional<int64_t>(90));
  bytes[0] = '\x02';
  EXPECT_FALSE(decode_command(bytes).ok());
}

TEST(Command, ClientAddressKeepsOrdinaryWritesInFormatOne) {
  Command c = sample_batch();
  c.client_ip = "10.1.2.3";
  std::string bytes = encode_command(c);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 1);
  auto back = decode_command(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->client_ip, "10.1.2.3");
}

TEST(Command, SecretsNeedFormatFive) {
  // docs/secrets.md: namespace patterns, a rollback's re-sealed value and the rewrap command.
  std::vector<Command> all = {
      Command{"r", "o", CreateNamespace{"ns", "", {"*.password", "db.*"}}},
      Command{"r", "o",
              UpdateNamespace{4, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                              std::vector<std::string>{}}},
      Command{"r", "o", RollbackConfig{"ns", "k", 3, std::nullopt, std::string("{\"$sealed\":1}")}},
      Command{"r", "o", RewrapSecrets{{{"ns", "k", "from", "to"}, {"n2", "k2", "f2", "t2"}}}},
  };
  for (const auto& c : all) {
    std::string bytes = encode_command(c);
    EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 5);
    auto back = decode_command(bytes);
    ASSERT_TRUE(back.ok()) << back.error().details;
    EXPECT_EQ(encode_command(*back), bytes);
    bytes[0] = '\x04';
    EXPECT_FALSE(decode_command(bytes).ok()) << bytes;
  }
  auto back = decode_command(encode_command(all[0]));
  EXPECT_EQ(std::get<CreateNamespace>(back->body).secret_keys,
            (std::vector<std::string>{"*.password", "db.*"}));
  auto rewrap = decode_command(encode_command(all[3]));
  EXPECT_EQ(std::get<RewrapSecrets>(rewrap->body).values[1].to, "t2");
  // Without secrets, a namespace command keeps its old format; the write flag is never encoded
  // (the leader consumed it by sealing the value).
  EXPECT_EQ(static_cast<uint8_t>(encode_command(Command{"r", "o", CreateNamespace{"ns", ""}})[0]),
            1);
  Command secret_write = sample_batch();
  std::get<WriteConfigs>(secret_write.body).ops[0].secret = true;
  EXPECT_EQ(encode_command(secret_write), encode_command(sample_batch()));
}

}  // namespace
}  // namespace cairn::api

namespace cairn::api {
namespace {

TEST(Command, SchemaCommandsUseFormatSix) {
  Command set{"r", "op", SetNamespaceSchema{4, R"([{"keys":"a.*","schema":{"type":"integer"}}])", true, true}};
  std::string bytes = encode_command(set);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 6);
  auto back = decode_command(bytes);
  ASSERT_TRUE(back.ok()) << back.error().details;
  const auto* s = std::get_if<SetNamespaceSchema>(&back->body);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->id, 4);
  EXPECT_EQ(s->schemas_json, R"([{"keys":"a.*","schema":{"type":"integer"}}])");
  EXPECT_TRUE(s->strict);
  EXPECT_TRUE(s->force);
  EXPECT_EQ(encode_command(*back), bytes);

  Command forced{"r", "op", RollbackConfig{"ns", "k", 3, std::nullopt, std::nullopt, true}};
  bytes = encode_command(forced);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 6);
  back = decode_command(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::get<RollbackConfig>(back->body).force);
  // A plain rollback stays in format 1; `force` is refused in an older format.
  EXPECT_EQ(static_cast<uint8_t>(encode_command(Command{"r", "op", RollbackConfig{"ns", "k", 3, std::nullopt}})[0]), 1);
  std::string old = bytes;
  old[0] = 5;
  EXPECT_FALSE(decode_command(old).ok());
  std::string too_old = encode_command(set);
  too_old[0] = 5;
  EXPECT_FALSE(decode_command(too_old).ok());
}

}  // namespace
}  // namespace cairn::api
