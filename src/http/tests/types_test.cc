#include "http/types.h"

#include <gtest/gtest.h>

namespace cairn::http {
namespace {

Response make_response(int status, std::string body = {}) {
  Response res;
  res.status = status;
  res.body = std::move(body);
  return res;
}

using Query = std::vector<std::pair<std::string, std::string>>;

TEST(PercentDecode, DecodesEscapes) {
  std::string out;
  ASSERT_TRUE(percent_decode("a%20b%2Fc", out, false));
  EXPECT_EQ(out, "a b/c");
  ASSERT_TRUE(percent_decode("%e4%BD%a0%E5%A5%BD", out, false));  // either hex case
  EXPECT_EQ(out, "你好");
  ASSERT_TRUE(percent_decode("", out, false));
  EXPECT_EQ(out, "");
  ASSERT_TRUE(percent_decode("日本", out, false));  // raw UTF-8 passes through
  EXPECT_EQ(out, "日本");
}

TEST(PercentDecode, PlusIsSpaceOnlyWhenAsked) {
  std::string out;
  ASSERT_TRUE(percent_decode("a+b%2B", out, true));
  EXPECT_EQ(out, "a b+");
  ASSERT_TRUE(percent_decode("a+b", out, false));
  EXPECT_EQ(out, "a+b");
}

TEST(PercentDecode, RejectsMalformedEscapes) {
  std::string out;
  for (const char* bad : {"%", "%2", "a%", "%zz", "%2G", "%G2", "ab%4"}) {
    EXPECT_FALSE(percent_decode(bad, out, false)) << bad;
  }
}

TEST(ParseTarget, SplitsPathAndQuery) {
  std::string path;
  Query query;
  ASSERT_TRUE(parse_target("/api/v1/config/get?namespace=a&key=b.c", path, query));
  EXPECT_EQ(path, "/api/v1/config/get");
  EXPECT_EQ(query, (Query{{"namespace", "a"}, {"key", "b.c"}}));

  ASSERT_TRUE(parse_target("/", path, query));
  EXPECT_EQ(path, "/");
  EXPECT_TRUE(query.empty());

  ASSERT_TRUE(parse_target("/a?", path, query));
  EXPECT_EQ(path, "/a");
  EXPECT_TRUE(query.empty());
}

TEST(ParseTarget, DecodesPathWithoutPlusAndQueryWithPlus) {
  std::string path;
  Query query;
  ASSERT_TRUE(parse_target("/a+b/c%20d?k=x+y%2Bz&n%C3%A4me=%E2%9C%93", path, query));
  EXPECT_EQ(path, "/a+b/c d");
  EXPECT_EQ(query, (Query{{"k", "x y+z"}, {"näme", "✓"}}));
}

TEST(ParseTarget, EmptyAndRepeatedParameters) {
  std::string path;
  Query query;
  ASSERT_TRUE(parse_target("/p?a=&b&&c=1&c=2&=v", path, query));
  EXPECT_EQ(query, (Query{{"a", ""}, {"b", ""}, {"c", "1"}, {"c", "2"}, {"", "v"}}));
  Request req;
  req.query = query;
  EXPECT_EQ(req.query_param("c"), "1");  // the first one
  EXPECT_EQ(req.query_param("a"), "");
  EXPECT_EQ(req.query_param("zz"), std::nullopt);
  ASSERT_TRUE(parse_target("/p?x=a=b", path, query));  // only the first '=' splits
  EXPECT_EQ(query, (Query{{"x", "a=b"}}));
}

TEST(ParseTarget, RejectsMalformedTargets) {
  std::string path;
  Query query;
  for (const char* bad : {"", "a/b", "*", "http://host/a", "/a%zz", "/a%", "/a?x=%4", "/a?%zz=1"}) {
    EXPECT_FALSE(parse_target(bad, path, query)) << bad;
  }
}

TEST(Request, Lookups) {
  Request req;
  req.headers = {{"x-a", "1"}, {"x-a", "2"}};
  req.path_params = {{"id", "42"}};
  ASSERT_NE(req.header("x-a"), nullptr);
  EXPECT_EQ(*req.header("x-a"), "1");
  EXPECT_EQ(req.header("x-b"), nullptr);
  EXPECT_EQ(req.path_param("id"), "42");
  EXPECT_EQ(req.path_param("nope"), std::nullopt);
}

TEST(Chain, FirstMiddlewareIsOutermost) {
  std::vector<std::string> trace;
  auto mw = [&trace](std::string name) -> Middleware {
    return [&trace, name](RequestPtr req, Reply reply, const Handler& next) {
      trace.push_back(name + ">");
      next(std::move(req), [&trace, name, reply](Response res) {
        trace.push_back("<" + name);
        res.headers.emplace_back("via", name);
        reply(std::move(res));
      });
    };
  };
  Handler h = chain({mw("a"), mw("b")}, [&trace](RequestPtr, Reply reply) {
    trace.push_back("handler");
    reply(Response{});
  });
  Response got;
  h(std::make_shared<Request>(), [&got](Response res) { got = std::move(res); });
  EXPECT_EQ(trace, (std::vector<std::string>{"a>", "b>", "handler", "<b", "<a"}));
  ASSERT_EQ(got.headers.size(), 2u);
  EXPECT_EQ(got.headers[0].second, "b");
  EXPECT_EQ(got.headers[1].second, "a");
}

TEST(Chain, MiddlewareMayAnswerWithoutNext) {
  bool reached = false;
  Handler h = chain({[](RequestPtr, Reply reply, const Handler&) { reply(make_response(429)); }},
                    [&reached](RequestPtr, Reply) { reached = true; });
  int status = 0;
  h(std::make_shared<Request>(), [&status](Response res) { status = res.status; });
  EXPECT_EQ(status, 429);
  EXPECT_FALSE(reached);
  Handler empty = chain({}, [&reached](RequestPtr, Reply) { reached = true; });
  empty(std::make_shared<Request>(), [](Response) {});
  EXPECT_TRUE(reached);
}

}  // namespace
}  // namespace cairn::http
