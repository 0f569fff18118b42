#include <gtest/gtest.h>

#include "frontends/transfer/formats.h"
#include "frontends/transfer/zip.h"

namespace cairn::transfer {
namespace {

ParseOptions opts(Source s) {
  ParseOptions o;
  o.source = s;
  return o;
}

ImportSet parse_ok(std::string_view bytes, ParseOptions o) {
  auto r = parse_import(bytes, o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().details);
  return r.ok() ? *r : ImportSet{};
}

TEST(Zip, RoundTripStoredAndDeflated) {
  std::vector<ZipEntry> in = {{"a.json", std::string(5000, 'x')}, {"dir/b", "hi"}, {"empty", ""}};
  auto bytes = write_zip(in);
  ASSERT_TRUE(looks_like_zip(bytes));
  auto out = read_zip(bytes);
  ASSERT_TRUE(out.ok()) << out.error();
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ((*out)[0].data, in[0].data);
  EXPECT_EQ((*out)[1].name, "dir/b");
  EXPECT_EQ((*out)[2].data, "");
}

TEST(Zip, RefusesDamage) {
  auto bytes = write_zip({{"a", std::string(100, 'y')}});
  EXPECT_FALSE(read_zip(bytes.substr(0, bytes.size() - 3)).ok());
  std::string flipped = bytes;
  flipped[40] ^= 0x55;  // inside the data: CRC or inflate fails
  EXPECT_FALSE(read_zip(flipped).ok());
  EXPECT_FALSE(read_zip("PK\x03\x04garbage").ok());
  ZipLimits tiny;
  tiny.max_total_bytes = 10;
  EXPECT_FALSE(read_zip(bytes, tiny).ok());
}

TEST(Consul, MapsAsTheFrontEnd) {
  // consul kv export: base64 values, flags in the description, first segment = namespace.
  auto set = parse_ok(
      R"([{"key":"app/db/url","flags":0,"value":"cG9zdGdyZXM6Ly9kYg=="},
          {"key":"app/flagged","flags":42,"value":"eA=="},
          {"key":"app/bin","flags":0,"value":"/w=="},
          {"key":"app/dir/","flags":0,"value":null},
          {"key":"app/","flags":0,"value":null}])",
      opts(Source::kConsul));
  ASSERT_EQ(set.namespaces.size(), 1u);
  const auto& ns = set.namespaces[0];
  EXPECT_EQ(ns.name, "app");
  ASSERT_EQ(ns.items.size(), 4u);
  EXPECT_EQ(ns.items[0].key, "bin");
  EXPECT_EQ(ns.items[0].value, R"({"$binary":"/w=="})");
  EXPECT_EQ(ns.items[1].key, "db/url");
  EXPECT_EQ(ns.items[1].value, R"("postgres://db")");
  EXPECT_EQ(ns.items[1].description, "");
  EXPECT_EQ(ns.items[2].key, "dir/");  // a folder is a key, as a PUT of it through the front-end
  EXPECT_EQ(ns.items[2].value, R"("")");
  EXPECT_EQ(ns.items[3].description, "consul-flags:42");
  EXPECT_EQ(set.warnings.size(), 1u);  // "app/": the namespace itself
  EXPECT_FALSE(parse_import(R"([{"key":"noslash","value":"eA=="}])", opts(Source::kConsul)).ok());
  EXPECT_FALSE(parse_import(R"([{"key":"a/b","value":"!!"}])", opts(Source::kConsul)).ok());
  EXPECT_FALSE(parse_import(R"({"key":"a/b"})", opts(Source::kConsul)).ok());
}

TEST(Etcd, LeadingSlashAndBase64Keys) {
  // etcdctl get /app --prefix -w json
  auto set = parse_ok(
      R"({"header":{"cluster_id":1,"member_id":2,"revision":9,"raft_term":2},
          "kvs":[{"key":"L2FwcC9kYi91cmw=","create_revision":5,"mod_revision":5,"version":1,
                  "value":"cG9zdGdyZXM6Ly9kYg=="}],"count":1})",
      opts(Source::kEtcd));
  ASSERT_EQ(set.namespaces.size(), 1u);
  EXPECT_EQ(set.namespaces[0].name, "app");
  EXPECT_EQ(set.namespaces[0].items[0].key, "db/url");
  EXPECT_EQ(set.namespaces[0].items[0].value, R"("postgres://db")");
  EXPECT_EQ(parse_ok(R"({"header":{},"count":0})", opts(Source::kEtcd)).namespaces.size(), 0u);
}

TEST(Nacos, ZipWithMetadata) {
  auto zip = write_zip({{"DEFAULT_GROUP/app.yaml", "a: 1\n"},
                        {"orders/db.properties", "url=x"},
                        {".meta.yml", "DEFAULT_GROUP.app~yaml.app=demo\n"}});
  ParseOptions o = opts(Source::kNacos);
  auto set = parse_ok(zip, o);
  ASSERT_EQ(set.namespaces.size(), 2u);
  EXPECT_EQ(set.namespaces[0].name, "DEFAULT_GROUP");
  EXPECT_EQ(set.namespaces[0].items[0].key, "app.yaml");
  EXPECT_EQ(set.namespaces[0].items[0].value, R"("a: 1\n")");
  o.tenant = "dev";
  set = parse_ok(zip, o);
  EXPECT_EQ(set.namespaces[0].name, "dev.DEFAULT_GROUP");
  EXPECT_EQ(set.namespaces[1].name, "dev.orders");
}

TEST(Apollo, PropertiesAndDocuments) {
  ParseOptions o = opts(Source::kApollo);
  o.filename = "application.properties";
  auto set = parse_ok(
      "# comment\n! other\ntimeout = 30\nurl: jdbc:mysql://db\\\n  /x\nname=caf\\u00e9\n"
      "spaced key\\ a=1\nempty=\n",
      o);
  ASSERT_EQ(set.namespaces.size(), 1u);
  const auto& ns = set.namespaces[0];
  EXPECT_EQ(ns.name, "application");
  ASSERT_EQ(ns.items.size(), 5u);
  EXPECT_EQ(ns.items[0].key, "empty");
  EXPECT_EQ(ns.items[0].value, R"("")");
  EXPECT_EQ(ns.items[1].key, "name");
  EXPECT_EQ(ns.items[1].value, "\"caf\xc3\xa9\"");
  EXPECT_EQ(ns.items[2].key, "spaced");
  EXPECT_EQ(ns.items[3].value, R"("30")");
  EXPECT_EQ(ns.items[4].value, R"("jdbc:mysql://db/x")");
  o.filename = "app.yaml";
  set = parse_ok("a:\n  b: 1\n", o);
  EXPECT_EQ(set.namespaces[0].name, "app.yaml");
  EXPECT_EQ(set.namespaces[0].items[0].key, "content");
  EXPECT_EQ(set.namespaces[0].items[0].value, R"("a:\n  b: 1\n")");
  o.filename.clear();
  EXPECT_FALSE(parse_import("a=1", o).ok());
}

TEST(Cairn, ExportRoundTripsInEveryFormat) {
  ExportNamespace n;
  n.name = "app";
  n.description = "d";
  n.secret_keys = {"*.password"};
  ImportItem a;
  a.key = "ratio";
  a.value = R"({"r":1.50,"s":"x: y","l":[1,true,null]})";
  a.version = 3;
  a.description = "desc";
  a.status = 0;
  ImportItem b;
  b.key = "db.password";
  b.value = R"("hunter2")";
  b.version = 1;
  b.secret = true;
  n.items = {b, a};
  ExportMeta meta{"2026-12-03T00:00:00Z", "node1", true};
  for (const char* fmt : {"json", "yaml", "zip"}) {
    std::string bytes = fmt == std::string("json")   ? export_json({n}, meta)
                        : fmt == std::string("yaml") ? export_yaml({n}, meta)
                                                     : export_zip({n}, meta);
    ParseOptions o = opts(Source::kCairn);
    auto set = parse_ok(bytes, o);  // format guessed
    ASSERT_EQ(set.namespaces.size(), 1u) << fmt;
    const auto& ns = set.namespaces[0];
    EXPECT_EQ(ns.description, "d") << fmt;
    EXPECT_EQ(ns.secret_keys, n.secret_keys) << fmt;
    ASSERT_EQ(ns.items.size(), 2u) << fmt;
    EXPECT_EQ(ns.items[1].value, a.value) << fmt;  // numbers keep their digits
    EXPECT_EQ(ns.items[1].status, 0) << fmt;
    EXPECT_EQ(ns.items[1].version, 3) << fmt;
    EXPECT_TRUE(ns.items[0].secret) << fmt;
  }
}

TEST(Cairn, RefusesBadFiles) {
  ParseOptions o = opts(Source::kCairn);
  EXPECT_EQ(parse_import("{", o).error().code, api::Errc::kBadRequest);
  EXPECT_FALSE(parse_import(R"({"namespaces":[{"name":"bad name","configs":[]}]})", o).ok());
  EXPECT_FALSE(parse_import(R"({"namespaces":[{"name":"a","configs":[{"key":"k"}]}]})", o).ok());
  EXPECT_FALSE(parse_import(
                   R"({"namespaces":[{"name":"a","configs":[{"key":"k","value":1},{"key":"k","value":2}]}]})",
                   o)
                   .ok());
  EXPECT_FALSE(parse_import(R"({"version":2,"namespaces":[]})", o).ok());
  o.format = "yaml";
  EXPECT_FALSE(parse_import("a: [", o).ok());
  EXPECT_FALSE(parse_import(std::string(10000, '['), o).ok());
  std::string dashes;
  for (int i = 0; i < 5000; ++i) dashes += "- ";
  EXPECT_FALSE(parse_import(dashes + "x\n", o).ok());
  // Aliases that would expand to an enormous document.
  std::string laughs = "a: &a [x,x,x,x,x,x,x,x,x,x]\n";
  for (char c = 'b'; c <= 'p'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    laughs += std::string(1, c) + ": &" + c + " [*" + prev + ",*" + prev + ",*" + prev + ",*" +
              prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + "]\n";
  }
  EXPECT_FALSE(parse_import(laughs, o).ok());
}

}  // namespace
}  // namespace cairn::transfer
