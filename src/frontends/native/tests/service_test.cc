// In-process tests of the handlers: a real SQLite store in a temp dir, the index, and a
// replicator that applies on the calling thread. Black-box tests over HTTP live in tests/e2e.

#include "frontends/native/service.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/json.h"
#include "core/state_machine.h"
#include "frontends/native/tests/service_fixture.h"
#include "core/test_replicator.h"

namespace cairn::native {
namespace {

class ServiceTest : public testing::ServiceFixture {
 protected:
  ServiceTest() { max_value_bytes_ = 1024; }

  /// A request with an optional X-Operator.
  Reply call(const std::string& method, const std::string& target, const std::string& body = "",
             const std::string& op = "") {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!op.empty()) headers.emplace_back("x-operator", op);
    return ServiceFixture::call(method, target, body, std::move(headers));
  }
};

TEST_F(ServiceTest, CreateReadUpdateThroughTheApi) {
  EXPECT_EQ(call("POST", "/api/v1/admin/namespace", R"({"name":"svc"})").status, 200);
  auto created = call("POST", "/api/v1/admin/config",
                      R"({"namespace":"svc","key":"db","value":{"z":1,"a":[true,null]}})", "ann");
  ASSERT_EQ(created.status, 200) << created.body.dump();
  EXPECT_EQ(created.body["data"]["version"], 1);
  EXPECT_EQ(created.body["message"], "配置创建成功");

  auto got = call("GET", "/api/v1/config/get?namespace=svc&key=db");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(dump_compact(got.body["data"]["value"]), R"({"z":1,"a":[true,null]})");

  auto updated = call("PUT", "/api/v1/admin/config",
                      R"({"namespace":"svc","key":"db","value":2,"expected_version":1})");
  ASSERT_EQ(updated.status, 200) << updated.body.dump();
  EXPECT_EQ(updated.body["data"]["version"], 2);
  EXPECT_EQ(updated.body["data"]["old_version"], 1);

  auto stale = call("PUT", "/api/v1/admin/config",
                    R"({"namespace":"svc","key":"db","value":3,"expected_version":1})");
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.body["code"], 40901);

  auto old = call("GET", "/api/v1/config/get?namespace=svc&key=db&version=1");
  ASSERT_EQ(old.status, 200);
  EXPECT_EQ(old.body["data"]["version"], 1);
}

TEST_F(ServiceTest, CurrentReadsDoNotQuerySqlite) {
  call("POST", "/api/v1/admin/namespace", R"({"name":"svc"})");
  call("POST", "/api/v1/admin/config", R"({"namespace":"svc","key":"a","value":1})");
  uint64_t before = store_->read_queries();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=svc&key=a").status, 200);
    EXPECT_EQ(call("POST", "/api/v1/config/batch-get", R"({"namespace":"svc","keys":["a","b"]})")
                  .status,
              200);
    EXPECT_EQ(call("GET", "/api/v1/config/namespace/svc").status, 200);
  }
  EXPECT_EQ(store_->read_queries(), before);
  call("GET", "/api/v1/admin/config/history?namespace=svc&key=a");
  EXPECT_GT(store_->read_queries(), before);
}

TEST_F(ServiceTest, BadInputGetsTheRightCode) {
  struct Case {
    std::string method, target, body;
    int status, code;
  };
  std::string deep = std::string(70, '[') + std::string(70, ']');
  std::string big(2000, 'x');
  std::vector<Case> cases = {
      {"GET", "/api/v1/config/get?namespace=svc", "", 400, 40001},
      {"GET", "/api/v1/config/get?namespace=s%20v&key=a", "", 400, 40002},
      {"GET", "/api/v1/config/get?namespace=svc&key=a&version=x", "", 400, 40001},
      {"GET", "/api/v1/config/get?namespace=svc&key=a&version=0", "", 400, 40002},
      {"GET", "/api/v1/config/get?namespace=nope&key=a", "", 404, 40402},
      {"POST", "/api/v1/admin/config", "not json", 400, 40001},
      {"POST", "/api/v1/admin/config", "[1]", 400, 40001},
      {"POST", "/api/v1/admin/config", R"({"namespace":1,"key":"a","value":1})", 400, 40001},
      {"POST", "/api/v1/admin/config", R"({"namespace":"svc","key":"a"})", 400, 40001},
      {"POST", "/api/v1/admin/config",
       R"({"namespace":"svc","key":"a","value":)" + deep + "}", 400, 40002},
      {"POST", "/api/v1/admin/config",
       R"({"namespace":"svc","key":"a","value":")" + big + R"("})", 400, 40002},
      {"POST", "/api/v1/admin/config", R"({"namespace":"nope","key":"a","value":1})", 404,
       40402},
      {"GET", "/api/v1/admin/config/list?page=0", "", 400, 40002},
      {"GET", "/api/v1/admin/config/list?page_size=1001", "", 400, 40002},
      {"POST", "/api/v1/admin/config/batch", R"({"namespace":"svc","operations":[]})", 400,
       40002},
      {"GET", "/api/v1/config/diff?namespace=svc&key=a&from=1", "", 400, 40001},
      {"GET", "/api/v1/nope", "", 404, 40401},
      {"DELETE", "/api/v1/config/get", "", 405, 40501},
  };
  call("POST", "/api/v1/admin/namespace", R"({"name":"svc"})");
  for (const auto& c : cases) {
    auto r = call(c.method, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << " " << r.body.dump();
    EXPECT_EQ(r.body["code"], c.code) << c.method << " " << c.target << " " << r.body.dump();
    EXPECT_TRUE(r.body.contains("error")) << c.target;
  }
  EXPECT_EQ(store_->revision(), 1u);  // only the namespace create changed anything
}

TEST_F(ServiceTest, BatchIsAllOrNothing) {
  call("POST", "/api/v1/admin/namespace", R"({"name":"svc"})");
  auto bad = call("POST", "/api/v1/admin/config/batch",
                  R"({"namespace":"svc","operations":[{"op":"create","key":"a","value":1},)"
                  R"({"op":"update","key":"missing","value":2}]})");
  EXPECT_EQ(bad.status, 404) << bad.body.dump();
  EXPECT_EQ(bad.body["error"]["field"], "operations[1]");
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=svc&key=a").body["code"], 40403);

  auto good = call("POST", "/api/v1/admin/config/batch",
                   R"({"namespace":"svc","operations":[{"op":"create","key":"a","value":1},)"
                   R"({"op":"update","key":"a","value":2}]})");
  ASSERT_EQ(good.status, 200) << good.body.dump();
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=svc&key=a").body["data"]["version"], 2);
}

TEST_F(ServiceTest, DiffAndRollback) {
  call("POST", "/api/v1/admin/namespace", R"({"name":"svc"})");
  call("POST", "/api/v1/admin/config", R"({"namespace":"svc","key":"k","value":{"h":"a"}})");
  call("PUT", "/api/v1/admin/config", R"({"namespace":"svc","key":"k","value":{"h":"b","n":1}})");
  auto diff = call("GET", "/api/v1/config/diff?namespace=svc&key=k&from_version=1&to_version=2");
  ASSERT_EQ(diff.status, 200) << diff.body.dump();
  EXPECT_EQ(diff.body["data"]["changes"].size(), 2u);
  auto rb = call("POST", "/api/v1/admin/config/rollback",
                 R"({"namespace":"svc","key":"k","target_version":1})");
  ASSERT_EQ(rb.status, 200) << rb.body.dump();
  EXPECT_EQ(rb.body["data"]["current_version"], 3);
  EXPECT_EQ(rb.body["data"]["previous_version"], 2);
  auto now = call("GET", "/api/v1/config/get?namespace=svc&key=k");
  EXPECT_EQ(now.body["data"]["value"]["h"], "a");
  auto versions = call("GET", "/api/v1/config/versions?namespace=svc&key=k");
  ASSERT_EQ(versions.status, 200);
  EXPECT_EQ(versions.body["data"]["list"][0]["version"], 3);
  EXPECT_EQ(versions.body["data"]["list"][0]["is_current"], true);
  EXPECT_EQ(versions.body["data"]["list"][1]["is_current"], false);
}

// Issue 15 items 1, 7 and 16 through the handlers.
TEST_F(ServiceTest, VersionReadsOfDisabledAreRefusedAndAtReadsThePast) {
  call("POST", "/api/v1/admin/namespace", R"({"name":"svc"})");
  call("POST", "/api/v1/admin/config", R"({"namespace":"svc","key":"k","value":1})");
  call("PUT", "/api/v1/admin/config", R"({"namespace":"svc","key":"k","value":2})");
  EXPECT_EQ(call("GET", "/api/v1/config/versions?namespace=svc&key=k&limit=1")
                .body["data"]["list"].size(),
            1u);
  EXPECT_EQ(call("GET", "/api/v1/config/versions?namespace=svc&key=k&limit=1&page_size=2")
                .body["code"],
            40001);
  auto future = call("GET", "/api/v1/config/get?namespace=svc&key=k&at=9999-01-01T00:00:00Z");
  EXPECT_EQ(future.body["data"]["value"], 2) << future.body.dump();
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=svc&key=k&at=1").body["code"], 40401);
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=svc&key=k&at=soon").body["code"], 40002);
  auto ns = call("GET", "/api/v1/config/namespace/svc?at=9999-01-01T00:00:00Z");
  EXPECT_EQ(ns.body["data"]["configs"]["k"], 2) << ns.body.dump();
  call("PUT", "/api/v1/admin/config", R"({"namespace":"svc","key":"k","status":0})");
  EXPECT_EQ(call("GET", "/api/v1/config/versions?namespace=svc&key=k").body["code"], 40403);
  EXPECT_EQ(call("GET", "/api/v1/config/diff?namespace=svc&key=k&from=1&to=2").body["code"], 40403);
  EXPECT_EQ(call("GET", "/api/v1/admin/config/versions?namespace=svc&key=k").status, 200);
  call("PUT", "/api/v1/admin/namespace/svc", R"({"status":0})");
  EXPECT_EQ(call("GET", "/api/v1/config/versions?namespace=svc&key=k").body["code"], 40402);
  EXPECT_EQ(call("GET", "/api/v1/admin/config/diff?namespace=svc&key=k&from=1&to=2").status, 200);
}

}  // namespace
}  // namespace cairn::native

namespace cairn::native {
namespace {

// Issue 15 item 10: a value reads back with the number text it was written with.
TEST_F(ServiceTest, ValuesKeepTheirNumbersAsWritten) {
  call("POST", "/api/v1/admin/namespace", R"({"name":"svc"})");
  auto created = call("POST", "/api/v1/admin/config",
                      R"({"namespace":"svc","key":"n","value": [18446744073709551616, )"
                      R"(-9223372036854775809, 1E2, -0, 1.0, 0.1, {"x" : "a b\u00e9"}] })");
  ASSERT_EQ(created.status, 200) << created.raw;
  const std::string stored =
      R"([18446744073709551616,-9223372036854775809,1E2,-0,1.0,0.1,{"x":"a b\u00e9"}])";
  auto got = call("GET", "/api/v1/config/get?namespace=svc&key=n");
  EXPECT_NE(got.raw.find(R"("value":)" + stored), std::string::npos) << got.raw;
  auto batch =
      call("POST", "/api/v1/admin/config/batch",
           R"({"namespace":"svc","operations":[{"op":"update","key":"n","value":1E2},)"
           R"({"op":"create","key":"m","value":{"big":123456789012345678901234567890}}]})");
  ASSERT_EQ(batch.status, 200) << batch.raw;
  auto read = call("GET", "/api/v1/config/namespace/svc");
  EXPECT_NE(read.raw.find(R"("n":1E2)"), std::string::npos) << read.raw;
  EXPECT_NE(read.raw.find(R"({"big":123456789012345678901234567890})"), std::string::npos)
      << read.raw;
  auto old = call("GET", "/api/v1/config/get?namespace=svc&key=n&version=1");
  EXPECT_NE(old.raw.find(R"("value":)" + stored), std::string::npos) << old.raw;
}

TEST_F(ServiceTest, NumberBeyondADoubleIsOutOfRange) {
  call("POST", "/api/v1/admin/namespace", R"({"name":"svc"})");
  auto r = call("POST", "/api/v1/admin/config", R"({"namespace":"svc","key":"n","value":1e400})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["code"], 40002) << r.raw;
  EXPECT_EQ(store_->revision(), 1u);
}

// Issue 15 item 11: an integer beyond 64 bits is out of range (40002), not malformed (40001).
TEST_F(ServiceTest, IntegersBeyond64BitsAreOutOfRange) {
  call("POST", "/api/v1/admin/namespace", R"({"name":"svc"})");
  call("POST", "/api/v1/admin/config", R"({"namespace":"svc","key":"a","value":1})");
  struct Case {
    std::string method, target, body;
    int code;
  };
  std::vector<Case> cases = {
      {"GET", "/api/v1/config/get?namespace=svc&key=a&version=99999999999999999999", "", 40002},
      {"GET", "/api/v1/config/get?namespace=svc&key=a&version=-99999999999999999999", "", 40002},
      {"GET", "/api/v1/config/get?namespace=svc&key=a&version=9e9", "", 40001},
      {"GET", "/api/v1/admin/config/list?page=99999999999999999999", "", 40002},
      {"GET", "/api/v1/admin/config/list?page_size=18446744073709551616", "", 40002},
      {"PUT", "/api/v1/admin/config",
       R"({"namespace":"svc","key":"a","value":2,"expected_version":99999999999999999999})", 40002},
      {"PUT", "/api/v1/admin/config",
       R"({"namespace":"svc","key":"a","value":2,"expected_version":-99999999999999999999})",
       40002},
      {"PUT", "/api/v1/admin/config",
       R"({"namespace":"svc","key":"a","value":2,"expected_version":1.5})", 40001},
  };
  for (const auto& c : cases) {
    auto r = call(c.method, c.target, c.body);
    EXPECT_EQ(r.body["code"], c.code) << c.method << " " << c.target << " " << r.raw;
  }
  EXPECT_EQ(store_->revision(), 2u);
}

// Issue 15 items 6 and 9.
TEST_F(ServiceTest, AllDigitNamesAndOperators) {
  auto digits = call("POST", "/api/v1/admin/namespace", R"({"name":"5"})");
  EXPECT_EQ(digits.body["code"], 40002) << digits.raw;
  EXPECT_EQ(digits.body["error"]["field"], "name");
  call("POST", "/api/v1/admin/namespace", R"({"name":"svc"})");
  auto bad =
      call("POST", "/api/v1/admin/config", R"({"namespace":"svc","key":"a","value":1})", "bad\xff");
  EXPECT_EQ(bad.body["code"], 40002) << bad.raw;
  EXPECT_EQ(bad.body["error"]["field"], "X-Operator");
  EXPECT_EQ(store_->revision(), 1u);
  auto ok = call("POST", "/api/v1/admin/config", R"({"namespace":"svc","key":"a","value":1})",
                 "\xe5\xbc\xa0\xe4\xb8\x89");
  ASSERT_EQ(ok.status, 200) << ok.raw;
  auto list = call("GET", "/api/v1/admin/config/list?namespace=svc");
  EXPECT_EQ(list.body["data"]["list"][0]["created_by"], "\xe5\xbc\xa0\xe4\xb8\x89") << list.raw;
}

}  // namespace
}  // namespace cairn::native
