#include "api/wire.h"

#include <gtest/gtest.h>

#include "api/envelope.h"

namespace cairn::api {
namespace {

// The literals below are `data` texts as the server writes them today (service/config_read.cc,
// config_admin.cc, versions.cc, namespaces.cc, watch_sse.cc), numbers with their own text.

/// Decoding `text` as T and encoding the result gives `text` back, byte for byte.
template <class T>
T round_trip(const std::string& text) {
  auto decoded = from_json<T>(text);
  EXPECT_TRUE(decoded.ok()) << (decoded.ok() ? "" : decoded.error().details) << "\n" << text;
  if (!decoded.ok()) return T{};
  EXPECT_EQ(to_json(*decoded), text);
  auto again = from_json<T>(to_json(*decoded));
  EXPECT_TRUE(again.ok() && *again == *decoded);
  return *decoded;
}

TEST(Wire, ConfigValueOfConfigGet) {
  const std::string text =
      R"({"namespace":"app","key":"db.url","value":{"n":1E2,"big":18446744073709551616,)"
      R"("z":-0,"s":"caf\u00e9 \"q\""},"version":3,"updated_at":"2024-01-20T10:00:00Z"})";
  ConfigValue v = round_trip<ConfigValue>(text);
  EXPECT_EQ(v.ns, "app");
  EXPECT_EQ(v.key, "db.url");
  EXPECT_EQ(v.value, R"({"n":1E2,"big":18446744073709551616,"z":-0,"s":"caf\u00e9 \"q\""})");
  EXPECT_EQ(v.version, 3);
  EXPECT_EQ(v.updated_at, "2024-01-20T10:00:00Z");
  EXPECT_TRUE(v.warning.empty());

  // A degraded node's old version carries a warning after the row.
  round_trip<ConfigValue>(
      R"({"namespace":"app","key":"k","value":1.50,"version":2,)"
      R"("updated_at":"2024-01-20T10:00:00Z","warning":"version 2 is not among the last 4"})");
}

TEST(Wire, EncodingBuildsTheServerText) {
  ConfigValue v;
  v.ns = "app";
  v.key = "k";
  v.value = "[1.0,1e400]";
  v.version = 7;
  v.updated_at = "2026-12-02T06:30:00Z";
  EXPECT_EQ(to_json(v),
            R"({"namespace":"app","key":"k","value":[1.0,1e400],"version":7,)"
            R"("updated_at":"2026-12-02T06:30:00Z"})");
  // Strings are escaped as append_json_string does (nlohmann's rules, UTF-8 kept).
  v.key = "tab\there \"é\"";
  EXPECT_NE(to_json(v).find(R"("key":"tab\there \"é\"")"), std::string::npos);
}

TEST(Wire, DecodingKeepsNumberTextAndDropsOnlySpace) {
  auto v = from_json<ConfigValue>(
      " { \"key\" : \"k\", \"value\" : { \"a\" : [ 1E2 , -0.0 ] , \"s\" : \" x \" } } ");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value, R"({"a":[1E2,-0.0],"s":" x "})");
  EXPECT_EQ(v->ns, "");  // absent: the default
  EXPECT_EQ(v->version, 0);
}

TEST(Wire, BatchGet) {
  BatchGet b = round_trip<BatchGet>(
      R"({"namespace":"app","configs":[{"key":"a","value":1E2,"version":2},)"
      R"({"key":"b","value":null,"version":1}],"missing":["c","d"]})");
  ASSERT_EQ(b.configs.size(), 2u);
  EXPECT_EQ(b.configs[0].value, "1E2");
  EXPECT_EQ(b.configs[1].value, "null");
  EXPECT_EQ(b.missing, (std::vector<std::string>{"c", "d"}));
  round_trip<BatchGet>(R"({"namespace":"app","configs":[],"missing":[]})");
}

TEST(Wire, NamespaceConfigs) {
  NamespaceConfigs n = round_trip<NamespaceConfigs>(
      R"({"namespace":"app","configs":{"z":1,"a":{"x":1E2}},"version":7,)"
      R"("updated_at":"2024-01-20T10:00:00Z"})");
  ASSERT_EQ(n.configs.size(), 2u);
  EXPECT_EQ(n.configs[0].first, "z");  // the server's order is kept
  EXPECT_EQ(n.configs[1].second, R"({"x":1E2})");
  EXPECT_EQ(n.revision, 7);
  EXPECT_FALSE(n.at);
  // With at=: the instant and the keys retention removed.
  n = round_trip<NamespaceConfigs>(
      R"({"namespace":"app","configs":{},"version":3,"updated_at":"2024-01-20T10:00:00Z",)"
      R"("at":"2024-01-20T11:00:00Z","unavailable":["old"]})");
  EXPECT_EQ(n.at, "2024-01-20T11:00:00Z");
  EXPECT_EQ(n.unavailable, (std::vector<std::string>{"old"}));
}

TEST(Wire, ConfigListPage) {
  auto page = round_trip<Paged<ConfigRow>>(
      R"({"list":[{"id":1,"namespace":"app","key":"a","value":{"v":1E2},"version":2,)"
      R"("description":"the \"a\"","status":0,"created_by":"bob","updated_by":"ann",)"
      R"("created_at":"2024-01-20T10:00:00Z","updated_at":"2024-01-21T10:00:00Z"}],)"
      R"("pagination":{"page":1,"page_size":20,"total":1,"total_pages":1}})");
  ASSERT_EQ(page.list.size(), 1u);
  EXPECT_EQ(page.list[0].status, 0);
  EXPECT_EQ(page.list[0].description, "the \"a\"");
  EXPECT_EQ(page.pagination.total, 1);
  round_trip<Paged<ConfigRow>>(
      R"({"list":[],"pagination":{"page":3,"page_size":5,"total":0,"total_pages":0}})");
}

TEST(Wire, HistoryPage) {
  auto page = round_trip<Paged<HistoryRow>>(
      R"({"list":[{"id":9,"namespace":"app","key":"a","old_value":1,"new_value":null,)"
      R"("version":2,"operation":"DELETE","operator":"bob","revision":12,)"
      R"("created_at":"2024-01-20T10:00:00Z"},{"id":8,"namespace":"app","key":"a",)"
      R"("old_value":null,"new_value":1,"version":1,"operation":"CREATE","operator":"",)"
      R"("revision":11,"created_at":"2024-01-20T09:00:00Z"}],)"
      R"("pagination":{"page":1,"page_size":20,"total":2,"total_pages":1}})");
  ASSERT_EQ(page.list.size(), 2u);
  EXPECT_EQ(page.list[0].new_value, "null");
  EXPECT_EQ(page.list[0].revision, 12);
  EXPECT_EQ(page.list[1].operator_name, "");
  // Without revision (the CLI's rows) the member is left out, not written as 0.
  HistoryRow h = page.list[1];
  h.revision.reset();
  EXPECT_EQ(to_json(h),
            R"({"id":8,"namespace":"app","key":"a","old_value":null,"new_value":1,"version":1,)"
            R"("operation":"CREATE","operator":"","created_at":"2024-01-20T09:00:00Z"})");
}

TEST(Wire, VersionList) {
  auto v = round_trip<VersionList>(
      R"({"namespace":"app","key":"a","list":[{"version":2,"value":1E2,"created_by":"bob",)"
      R"("created_at":"2024-01-20T10:00:00Z","is_current":true,"tags":["prod","v1.0"]},)"
      R"({"version":1,"value":"x","created_by":"","created_at":"2024-01-20T09:00:00Z",)"
      R"("is_current":false,"tags":[]}],)"
      R"("pagination":{"page":1,"page_size":20,"total":2,"total_pages":1}})");
  ASSERT_EQ(v.list.size(), 2u);
  EXPECT_TRUE(v.list[0].is_current);
  EXPECT_EQ(v.list[0].tags, (std::vector<std::string>{"prod", "v1.0"}));
  EXPECT_EQ(v.list[1].tags, std::vector<std::string>{});
  // The CLI's versions output: the rows without tags, behind no key.
  Paged<VersionRow> cli{v.list, v.pagination};
  for (auto& row : cli.list) row.tags.reset();
  EXPECT_EQ(to_json(cli),
            R"({"list":[{"version":2,"value":1E2,"created_by":"bob",)"
            R"("created_at":"2024-01-20T10:00:00Z","is_current":true},)"
            R"({"version":1,"value":"x","created_by":"","created_at":"2024-01-20T09:00:00Z",)"
            R"("is_current":false}],)"
            R"("pagination":{"page":1,"page_size":20,"total":2,"total_pages":1}})");
}

TEST(Wire, NamespacePage) {
  auto page = round_trip<Paged<NamespaceRow>>(
      R"({"list":[{"id":1,"name":"app","description":"","status":1,"config_count":2,)"
      R"("revision":7,"created_at":"2024-01-20T10:00:00Z","updated_at":"2024-01-20T11:00:00Z",)"
      R"("retention":{"keep_latest":30,"keep_days":7}}],)"
      R"("pagination":{"page":1,"page_size":20,"total":1,"total_pages":1}})");
  ASSERT_EQ(page.list.size(), 1u);
  ASSERT_TRUE(page.list[0].retention);
  EXPECT_EQ(page.list[0].retention->keep_days, 7);
  NamespaceRow n = page.list[0];
  n.retention.reset();
  EXPECT_EQ(to_json(n),
            R"({"id":1,"name":"app","description":"","status":1,"config_count":2,"revision":7,)"
            R"("created_at":"2024-01-20T10:00:00Z","updated_at":"2024-01-20T11:00:00Z"})");
}

TEST(Wire, DiffAndRollback) {
  Diff d = round_trip<Diff>(
      R"({"namespace":"app","key":"a","from_version":1,"to_version":3,"changes":[)"
      R"({"path":"","from":null,"to":{"x":1},"type":"modified"},)"
      R"({"path":"b[2].c","from":"x","to":null,"type":"removed"}]})");
  ASSERT_EQ(d.changes.size(), 2u);
  EXPECT_EQ(d.changes[1].path, "b[2].c");
  EXPECT_EQ(d.changes[1].to, "null");
  round_trip<Rollback>(
      R"({"namespace":"app","key":"a","current_version":5,"previous_version":4})");
}

TEST(Wire, WatchPollAndEvents) {
  auto poll = round_trip<WatchPoll>(
      R"({"namespace":"app","changed":true,"reset":false,"revision":18446744073709551615,)"
      R"("changes":[{"key":"a","operation":"UPDATE","version":4,"revision":9,"value":1E2},)"
      R"({"key":"b","operation":"DELETE","version":2,"revision":9},)"
      R"({"key":"c","operation":"CREATE","version":1,"revision":9,"value":null}]})");
  EXPECT_EQ(poll.revision, UINT64_MAX);
  ASSERT_EQ(poll.changes.size(), 3u);
  EXPECT_EQ(poll.changes[0].value, "1E2");
  EXPECT_FALSE(poll.changes[1].value);        // absent: no value after DELETE
  EXPECT_EQ(poll.changes[2].value, "null");   // present: a config whose value is null
  round_trip<WatchPoll>(
      R"({"namespace":"app","changed":false,"reset":true,"revision":3,"changes":[]})");
  // An SSE change event carries the namespace; a reset event is namespace and revision.
  WatchChange e = round_trip<WatchChange>(
      R"({"namespace":"app","key":"a","operation":"ROLLBACK","version":5,"revision":10})");
  EXPECT_EQ(e.ns, "app");
  round_trip<WatchReset>(R"({"namespace":"app","revision":10})");
}

TEST(Wire, WrongTypesAndNonObjectsFail) {
  auto bad_version = from_json<ConfigValue>(R"({"key":"k","version":"3"})");
  ASSERT_FALSE(bad_version.ok());
  EXPECT_EQ(bad_version.error().code, Errc::kBadRequest);
  EXPECT_EQ(bad_version.error().field, "version");
  EXPECT_FALSE(from_json<ConfigValue>(R"({"key":"k","version":1.5})").ok());
  EXPECT_FALSE(from_json<ConfigRow>("[1]").ok());
  EXPECT_FALSE(from_json<ConfigRow>(R"({"id":1,)").ok());  // not JSON
  EXPECT_FALSE(from_json<Paged<ConfigRow>>(R"({"list":{}})").ok());
  EXPECT_FALSE(from_json<Paged<ConfigRow>>(R"({"list":[{"status":"on"}]})").ok());
  EXPECT_FALSE(from_json<NamespaceRow>(R"({"retention":5})").ok());
  EXPECT_FALSE(from_json<WatchPoll>(R"({"revision":-1})").ok());  // revisions are unsigned
  // Null scalars read as absent; an escaped member name is the same member.
  auto v = from_json<NamespaceRow>(R"({"id":null,"\u006eame":"app","status":null})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->id, 0);
  EXPECT_EQ(v->name, "app");
  EXPECT_EQ(v->status, 1);
}

TEST(Envelope, DecodesWhatTheWritersWrite) {
  auto ok = decode_envelope(success_envelope("success", R"({"a":1E2})", "rid", 1705734400));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->code, 0);
  EXPECT_EQ(ok->message, "success");
  EXPECT_EQ(ok->data_json, R"({"a":1E2})");
  EXPECT_EQ(ok->request_id, "rid");
  EXPECT_EQ(ok->timestamp, 1705734400);

  auto err = decode_envelope(error_envelope(make_error(Errc::kNotLeader, "not me", "x"), "r", 5,
                                            R"({"leader_http":"http://h:1"})"));
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->code, 50302);
  EXPECT_EQ(err->message, "节点非Leader");
  EXPECT_EQ(err->details, "not me");
  EXPECT_EQ(err->field, "x");
  EXPECT_EQ(err->error_json,
            R"({"details":"not me","field":"x","leader_http":"http://h:1"})");
  EXPECT_TRUE(err->data_json.empty());

  EXPECT_FALSE(decode_envelope("<html>").ok());
  EXPECT_FALSE(decode_envelope(R"({"code":"0"})").ok());
  EXPECT_FALSE(decode_envelope(R"({"message":"x"})").ok());
  EXPECT_FALSE(decode_envelope(R"({"code":1.5})").ok());
}

}  // namespace
}  // namespace cairn::api
