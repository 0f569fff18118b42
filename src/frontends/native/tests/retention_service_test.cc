// Handlers of docs/versions.md: ETag / If-Match / If-None-Match, tags, clean-up, namespace
// retention overrides, and the retention scheduler.

#include <gtest/gtest.h>

#include <filesystem>

#include "common/json.h"
#include "core/state_machine.h"
#include "core/test_replicator.h"
#include "frontends/native/service.h"
#include "frontends/native/tests/service_fixture.h"

namespace cairn::native {
namespace {

class RetentionServiceTest : public testing::ServiceFixture {
 protected:
  Reply call(const std::string& method, const std::string& target, const std::string& body = "",
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    return ServiceFixture::call(method, target, body, std::move(headers));
  }

  void setup_key(int versions) {
    ASSERT_EQ(call("POST", "/api/v1/admin/namespace", R"({"name":"svc"})").status, 200);
    ASSERT_EQ(
        call("POST", "/api/v1/admin/config", R"({"namespace":"svc","key":"k","value":1})").status,
        200);
    for (int i = 2; i <= versions; ++i) {
      ASSERT_EQ(call("PUT", "/api/v1/admin/config",
                     R"({"namespace":"svc","key":"k","value":)" + std::to_string(i) + "}")
                    .status,
                200);
    }
  }
};

TEST_F(RetentionServiceTest, GetCarriesETagAndAnswers304WhenUnchanged) {
  setup_key(2);
  auto got = call("GET", "/api/v1/config/get?namespace=svc&key=k");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.header("ETag"), "\"2\"");
  auto same =
      call("GET", "/api/v1/config/get?namespace=svc&key=k", "", {{"if-none-match", "\"2\""}});
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.raw.empty());
  EXPECT_EQ(same.header("ETag"), "\"2\"");
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=svc&key=k", "",
                 {{"if-none-match", "W/\"1\", W/\"2\""}})
                .status,
            304);
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=svc&key=k", "", {{"if-none-match", "\"1\""}})
                .status,
            200);
  auto old = call("GET", "/api/v1/config/get?namespace=svc&key=k&version=1");
  EXPECT_EQ(old.header("ETag"), "\"1\"");
}

TEST_F(RetentionServiceTest, IfMatchIsAnExpectedVersion) {
  setup_key(1);
  auto stale = call("PUT", "/api/v1/admin/config", R"({"namespace":"svc","key":"k","value":5})",
                    {{"if-match", "\"7\""}});
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.body["code"], 40901);
  EXPECT_EQ(store_->revision(), 2u);  // nothing written
  auto ok = call("PUT", "/api/v1/admin/config", R"({"namespace":"svc","key":"k","value":5})",
                 {{"if-match", "W/\"1\""}});
  ASSERT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(ok.header("ETag"), "\"2\"");
  // Unquoted digits are accepted too; agreeing with expected_version is fine.
  EXPECT_EQ(
      call("PUT", "/api/v1/admin/config",
           R"({"namespace":"svc","key":"k","value":6,"expected_version":2})", {{"if-match", "2"}})
          .status,
      200);
  auto both = call("PUT", "/api/v1/admin/config",
                   R"({"namespace":"svc","key":"k","value":7,"expected_version":3})",
                   {{"if-match", "\"2\""}});
  EXPECT_EQ(both.status, 400);
  EXPECT_EQ(both.body["code"], 40002);
  EXPECT_EQ(call("PUT", "/api/v1/admin/config", R"({"namespace":"svc","key":"k","value":7})",
                 {{"if-match", "\"abc\""}})
                .body["code"],
            40001);
  EXPECT_EQ(call("PUT", "/api/v1/admin/config", R"({"namespace":"svc","key":"k","value":7})",
                 {{"if-match", "\"1\", \"2\""}})
                .body["code"],
            40002);
  auto rb = call("POST", "/api/v1/admin/config/rollback",
                 R"({"namespace":"svc","key":"k","target_version":1})", {{"if-match", "\"1\""}});
  EXPECT_EQ(rb.status, 409);
  rb = call("POST", "/api/v1/admin/config/rollback",
            R"({"namespace":"svc","key":"k","target_version":1})", {{"if-match", "\"3\""}});
  ASSERT_EQ(rb.status, 200) << rb.raw;
  EXPECT_EQ(rb.header("ETag"), "\"4\"");
  EXPECT_EQ(call("DELETE", "/api/v1/admin/config?namespace=svc&key=k", "", {{"if-match", "\"3\""}})
                .status,
            409);
  EXPECT_EQ(call("DELETE", "/api/v1/admin/config?namespace=svc&key=k", "", {{"if-match", "\"4\""}})
                .status,
            200);
}

TEST_F(RetentionServiceTest, TagsShowInVersionsAndProtectFromCleanup) {
  setup_key(5);
  auto tagged = call("POST", "/api/v1/admin/config/tag",
                     R"({"namespace":"svc","key":"k","version":2,"tag":"golden"})");
  ASSERT_EQ(tagged.status, 200) << tagged.raw;
  EXPECT_EQ(tagged.body["data"]["tags"], Json::array({"golden"}));
  EXPECT_EQ(call("POST", "/api/v1/admin/config/tag?namespace=svc&key=k&version=9&tag=x").status,
            404);
  auto versions = call("GET", "/api/v1/config/versions?namespace=svc&key=k");
  ASSERT_EQ(versions.status, 200);
  EXPECT_EQ(versions.body["data"]["list"][3]["version"], 2);
  EXPECT_EQ(versions.body["data"]["list"][3]["tags"], Json::array({"golden"}));
  EXPECT_EQ(versions.body["data"]["list"][0]["tags"], Json::array());

  auto dry = call("POST", "/api/v1/admin/config/cleanup",
                  R"({"namespace":"svc","keep_latest":0,"keep_days":0,"dry_run":true})");
  ASSERT_EQ(dry.status, 200) << dry.raw;
  EXPECT_EQ(dry.body["data"]["count"], 3);
  EXPECT_EQ(call("GET", "/api/v1/config/versions?namespace=svc&key=k")
                .body["data"]["pagination"]["total"],
            5);
  auto real = call("POST", "/api/v1/admin/config/cleanup",
                   R"({"namespace":"svc","keep_latest":0,"keep_days":0})");
  ASSERT_EQ(real.status, 200);
  EXPECT_EQ(real.body["data"]["removed"], dry.body["data"]["removed"]);
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=svc&key=k&version=1").body["code"], 40401);
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=svc&key=k&version=2").status, 200);
  EXPECT_EQ(
      call("DELETE", "/api/v1/admin/config/tag?namespace=svc&key=k&version=2&tag=golden").status,
      200);
  EXPECT_EQ(call("DELETE", "/api/v1/admin/config/tag?namespace=svc&key=k&version=2&tag=golden")
                .body["code"],
            40401);
  // Bad bodies.
  EXPECT_EQ(call("POST", "/api/v1/admin/config/cleanup", R"({"keep_latest":-1})").body["code"],
            40002);
  EXPECT_EQ(call("POST", "/api/v1/admin/config/cleanup", R"({"dry_run":"yes"})").body["code"],
            40001);
  EXPECT_EQ(call("POST", "/api/v1/admin/config/cleanup", R"({"namespace":"nope"})").body["code"],
            40402);
  EXPECT_EQ(call("POST", "/api/v1/admin/config/cleanup").status, 200);  // empty body: defaults
}

TEST_F(RetentionServiceTest, NamespaceRetentionOverride) {
  setup_key(4);
  auto set = call("PUT", "/api/v1/admin/namespace/svc",
                  R"({"retention":{"keep_latest":1,"keep_days":0}})");
  ASSERT_EQ(set.status, 200) << set.raw;
  EXPECT_EQ(set.body["data"]["retention"]["keep_latest"], 1);
  EXPECT_EQ(
      call("PUT", "/api/v1/admin/namespace/svc", R"({"retention":{"keep_days":-2}})").body["code"],
      40002);
  EXPECT_EQ(call("PUT", "/api/v1/admin/namespace/svc", R"({"retention":5})").body["code"], 40001);
  auto run = call("POST", "/api/v1/admin/config/cleanup", "{}");
  EXPECT_EQ(run.body["data"]["count"], 3);
  auto reset = call("PUT", "/api/v1/admin/namespace/svc",
                    R"({"retention":{"keep_latest":null,"keep_days":null}})");
  ASSERT_EQ(reset.status, 200) << reset.raw;
  EXPECT_EQ(reset.body["data"]["retention"]["keep_latest"], 30);
}

}  // namespace
}  // namespace cairn::native
