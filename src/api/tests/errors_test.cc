#include "api/errors.h"

#include <gtest/gtest.h>

#include "api/envelope.h"
#include "common/json.h"

namespace cairn::api {
namespace {

TEST(Errors, TableMatchesSeed) {
  EXPECT_EQ(error_info(Errc::kOk).http_status, 200);
  EXPECT_EQ(error_info(Errc::kBadRequest).http_status, 400);
  EXPECT_EQ(error_info(Errc::kValidation).http_status, 400);
  EXPECT_EQ(error_info(Errc::kUnauthorized).http_status, 401);
  EXPECT_EQ(error_info(Errc::kForbidden).http_status, 403);
  EXPECT_EQ(error_info(Errc::kConfigNotFound).http_status, 404);
  EXPECT_EQ(error_info(Errc::kKeyExists).http_status, 409);
  EXPECT_EQ(error_info(Errc::kRateLimited).http_status, 429);
  EXPECT_EQ(error_info(Errc::kRaft).http_status, 500);
  EXPECT_EQ(error_info(Errc::kNotLeader).http_status, 503);
  EXPECT_EQ(error_info(Errc::kSecretUnavailable).http_status, 500);
  EXPECT_EQ(error_info(Errc::kBadRequest).message, "参数错误");
  size_t n = 0;
  const Errc* codes = all_error_codes(&n);
  EXPECT_EQ(n, 21u);  // the seed's, 40501, 41301 and 50005 (secret cannot be opened)
  for (size_t i = 1; i < n; ++i) {
    EXPECT_LT(static_cast<int>(codes[i - 1]) % 100000, 100000);
    int code = static_cast<int>(codes[i]);
    EXPECT_EQ(error_info(codes[i]).http_status, code / 100) << code;
  }
}

TEST(Envelope, SuccessShape) {
  auto body = success_envelope("success", R"({"a":1})", "rid", 17);
  auto j = Json::parse(body);
  EXPECT_EQ(j["code"], 0);
  EXPECT_EQ(j["message"], "success");
  EXPECT_EQ(j["data"]["a"], 1);
  EXPECT_EQ(j["request_id"], "rid");
  EXPECT_EQ(j["timestamp"], 17);
}

TEST(Envelope, ErrorShapeWithExtra) {
  auto body = error_envelope(make_error(Errc::kValidation, "bad \"x\"", "x"), "r", 1,
                             R"({"leader":"n1"})");
  auto j = Json::parse(body);
  EXPECT_EQ(j["code"], 40002);
  EXPECT_EQ(j["message"], "参数校验失败");
  EXPECT_EQ(j["error"]["details"], "bad \"x\"");
  EXPECT_EQ(j["error"]["field"], "x");
  EXPECT_EQ(j["error"]["leader"], "n1");
  EXPECT_FALSE(j.contains("data"));
}

}  // namespace
}  // namespace cairn::api
