#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "http/router.h"
#include "webui/assets.h"
#include "webui/webui.h"

namespace cairn::webui {
namespace {

std::string header(const http::Response& res, std::string_view name) {
  for (const auto& [n, v] : res.headers) {
    if (n == name) return v;
  }
  return "";
}

http::Response get(const http::Router& router, std::string path,
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
  auto req = std::make_shared<http::Request>();
  req->method = "GET";
  req->target = path;
  req->path = std::move(path);
  req->headers = std::move(headers);
  http::Response out;
  router.dispatch(req, [&out](http::Response res) { out = std::move(res); });
  return out;
}

TEST(Assets, EmbedsEveryWebFileWithTypeAndTag) {
  ASSERT_NE(find_asset("index.html"), nullptr);
  ASSERT_NE(find_asset("app.js"), nullptr);
  ASSERT_NE(find_asset("style.css"), nullptr);
  EXPECT_EQ(find_asset("nope.js"), nullptr);
  std::string previous;
  for (const Asset& a : assets()) {
    EXPECT_FALSE(a.body.empty()) << a.name;
    EXPECT_GT(a.name, previous);  // sorted, no duplicates
    previous = std::string(a.name);
    EXPECT_EQ(a.etag.front(), '"');
    EXPECT_EQ(a.etag.back(), '"');
  }
  EXPECT_NE(find_asset("index.html")->body.find("<html"), std::string_view::npos);
  EXPECT_NE(find_asset("app.js")->etag, find_asset("style.css")->etag);
}

TEST(Assets, ContentTypeByExtension) {
  EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("x.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("README"), "application/octet-stream");
}

TEST(Routes, ServeIndexFilesRedirectAndNotFound) {
  http::Router router;
  register_routes(router);

  auto index = get(router, "/ui/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index.body, find_asset("index.html")->body);
  EXPECT_EQ(header(index, "ETag"), find_asset("index.html")->etag);
  EXPECT_EQ(header(index, "Cache-Control"), "no-cache");
  EXPECT_NE(header(index, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);

  auto js = get(router, "/ui/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");

  auto redirect = get(router, "/ui");
  EXPECT_EQ(redirect.status, 308);
  EXPECT_EQ(header(redirect, "Location"), "/ui/");

  auto missing = get(router, "/ui/missing.js");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("\"code\":40401"), std::string::npos);
  EXPECT_NE(missing.body.find("missing.js"), std::string::npos);
}

TEST(Routes, IfNoneMatchAnswersNotModified) {
  http::Router router;
  register_routes(router);
  const std::string etag(find_asset("style.css")->etag);

  auto same = get(router, "/ui/style.css", {{"if-none-match", etag}});
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.body.empty());
  EXPECT_EQ(header(same, "ETag"), etag);

  auto weak_in_list = get(router, "/ui/style.css", {{"if-none-match", "\"old\", W/" + etag}});
  EXPECT_EQ(weak_in_list.status, 304);

  auto other = get(router, "/ui/style.css", {{"if-none-match", "\"old\""}});
  EXPECT_EQ(other.status, 200);
  EXPECT_FALSE(other.body.empty());
}

}  // namespace
}  // namespace cairn::webui
