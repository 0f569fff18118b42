#include "frontends/apollo/wire.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "frontends/text.h"

namespace cairn::apollo {
namespace {

using Configs = std::vector<std::pair<std::string, std::string>>;

TEST(ApolloWire, NamespaceDropsPropertiesAndKeepsDocumentSuffixes) {
  EXPECT_EQ(namespace_of("application"), "application");
  EXPECT_EQ(namespace_of("application.properties"), "application");
  EXPECT_EQ(namespace_of("application.PROPERTIES"), "application");
  EXPECT_EQ(namespace_of("app.json"), "app.json");
  EXPECT_EQ(namespace_of("app.yaml"), "app.yaml");
  EXPECT_EQ(namespace_of(".properties"), "");
  EXPECT_EQ(format_of("app.json"), Format::kJson);
  EXPECT_EQ(format_of("app.YML"), Format::kYml);
  EXPECT_EQ(format_of("app.xml"), Format::kXml);
  EXPECT_EQ(format_of("app.txt"), Format::kTxt);
  EXPECT_EQ(format_of("app"), Format::kProperties);
  EXPECT_EQ(raw_content_type(Format::kYaml), "application/yaml;charset=UTF-8");
}

TEST(ApolloWire, IdsComeFromTheRevisionAndAreNeverZero) {
  EXPECT_EQ(notification_id(0), 1);
  EXPECT_EQ(notification_id(1), 1);
  EXPECT_EQ(notification_id(42), 42);
  EXPECT_EQ(notification_id(UINT64_MAX), INT64_MAX);
  EXPECT_EQ(release_key(42), "42");
  EXPECT_LT(notification_id(41), notification_id(42));
}

TEST(ApolloWire, ParsesNotificationsLikeApollo) {
  auto w = parse_notifications(R"([{"namespaceName":"application","notificationId":-1},)"
                               R"({"namespaceName":"db.properties","notificationId":7},)"
                               R"({"namespaceName":"db","notificationId":5},)"
                               R"({"namespaceName":""},{"notificationId":3},null,)"
                               R"({"namespaceName":"app.json","notificationId":9.0}])");
  ASSERT_TRUE(w.ok()) << w.error();
  ASSERT_EQ(w->size(), 3u);
  EXPECT_EQ((*w)[0].ns, "application");
  EXPECT_EQ((*w)[0].notification_id, -1);
  EXPECT_EQ((*w)[1].ns, "db");
  EXPECT_EQ((*w)[1].namespace_name, "db");
  EXPECT_EQ((*w)[1].notification_id, 5);  // the lower id of a namespace given twice
  EXPECT_EQ((*w)[2].ns, "app.json");
  EXPECT_EQ((*w)[2].notification_id, 9);
  // No id: -1, as Apollo's placeholder.
  auto bare = parse_notifications(R"([{"namespaceName":"a"}])");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ((*bare)[0].notification_id, -1);
}

TEST(ApolloWire, RefusesMalformedNotifications) {
  for (const char* bad :
       {"", "[", "{}", "null", "[]", "[1]", R"([{"namespaceName":""}])", R"(["a"])",
        R"([{"namespaceName":5}])", R"([{"namespaceName":"a","notificationId":"1"}])",
        R"([{"namespaceName":"a","notificationId":1.5}])",
        R"([{"namespaceName":"a","notificationId":99999999999999999999}])",
        R"([{"namespaceName":"a b"}])", R"([{"namespaceName":"a/../b"}])",
        R"([{"namespaceName":"a","notificationId":[1]}])", "[[[[[[[[[[]]]]]]]]]]"}) {
    EXPECT_FALSE(parse_notifications(bad).ok()) << bad;
  }
  EXPECT_FALSE(parse_notifications(R"([{"namespaceName":")" + std::string(129, 'a') + "\"}]").ok());
  EXPECT_TRUE(parse_notifications(R"([{"namespaceName":")" + std::string(128, 'a') + "\"}]").ok());
  std::string many = "[";
  for (size_t i = 0; i <= kMaxNotifications; ++i) {
    many += (i ? ",{" : "{");
    many += R"("namespaceName":"n)" + std::to_string(i) + "\"}";
  }
  many += "]";
  EXPECT_FALSE(parse_notifications(many).ok());
}

TEST(ApolloWire, ConfigAnswerCarriesEveryValueAsText) {
  const Configs configs = {{"a", R"("x y")"},
                           {"n", "42"},
                           {"obj", R"({"k":[1,2.50]})"},
                           {"multi", frontends::stored_value("line1\nline2 \"q\" é")}};
  const std::string body = config_json("app", "default", "application.properties", configs, "7");
  EXPECT_EQ(body, R"({"appId":"app","cluster":"default","namespaceName":"application.properties",)"
                  R"("configurations":{"a":"x y","n":"42","obj":"{\"k\":[1,2.50]}",)"
                  R"("multi":"line1\nline2 \"q\" é"},"releaseKey":"7"})");
  auto parsed = parse_json(body, 8);
  ASSERT_TRUE(parsed);
  EXPECT_EQ((*parsed)["configurations"]["multi"].get<std::string>(), "line1\nline2 \"q\" é");
}

TEST(ApolloWire, DocumentContentReadsBackByteForByte) {
  // A .json namespace's document written natively as a JSON value: its compact text as stored,
  // numbers with their digits; written as a string: exactly that string.
  const std::string doc = "{\n  \"a\": 1.50,\n  \"b\": [true, null]\n}\n";
  const Configs as_string = {{"content", frontends::stored_value(doc)}};
  auto parsed = parse_json(configurations_json(as_string), 4);
  ASSERT_TRUE(parsed);
  EXPECT_EQ((*parsed)["content"].get<std::string>(), doc);
  const Configs as_json = {{"content", R"({"a":1.50,"b":[true,null]})"}};
  parsed = parse_json(configurations_json(as_json), 4);
  ASSERT_TRUE(parsed);
  EXPECT_EQ((*parsed)["content"].get<std::string>(), R"({"a":1.50,"b":[true,null]})");
}

TEST(ApolloWire, PropertiesUseJavaEscapes) {
  const Configs configs = {{"a", R"("plain")"},
                           {"key with space", R"(" lead and = : # ! \\ x")"},
                           {"ml", frontends::stored_value("l1\nl2\r\tt\f\x01")},
                           {"utf", R"("中文")"},
                           {"empty", R"("")"}};
  EXPECT_EQ(properties_text(configs),
            "a=plain\n"
            "key\\ with\\ space=\\ lead and \\= \\: \\# \\! \\\\ x\n"
            "ml=l1\\nl2\\r\\tt\\f\\u0001\n"
            "utf=中文\n"
            "empty=\n");
  EXPECT_EQ(properties_text({}), "");
}

TEST(ApolloWire, NotificationAnswerNamesTheReleaseMessage) {
  EXPECT_EQ(notifications_json("app", "default", {{"application", 12}, {"db", 3}}),
            R"([{"namespaceName":"application","notificationId":12,)"
            R"("messages":{"details":{"app+default+application":12}}},)"
            R"({"namespaceName":"db","notificationId":3,)"
            R"("messages":{"details":{"app+default+db":3}}}])");
  EXPECT_EQ(notifications_json("a", "c", {}), "[]");
}

TEST(ApolloWire, ErrorsAreApolloShaped) {
  auto parsed = parse_json(
      error_json(400, "invalid notifications format: [", "/notifications/v2", 1'700'000'000'000),
      4);
  ASSERT_TRUE(parsed);
  EXPECT_EQ((*parsed)["status"], 400);
  EXPECT_EQ((*parsed)["error"], "Bad Request");
  EXPECT_EQ((*parsed)["message"], "invalid notifications format: [");
  EXPECT_EQ((*parsed)["path"], "/notifications/v2");
  EXPECT_EQ((*parsed)["exception"],
            "com.ctrip.framework.apollo.common.exception.BadRequestException");
  EXPECT_TRUE((*parsed)["timestamp"].is_string());
  parsed = parse_json(error_json(403, "no", "/configs/a/b/c", 0), 4);
  ASSERT_TRUE(parsed);
  EXPECT_EQ((*parsed)["error"], "Forbidden");
  EXPECT_FALSE(parsed->contains("exception"));
}

}  // namespace
}  // namespace cairn::apollo
