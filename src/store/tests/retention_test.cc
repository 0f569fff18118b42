// Version retention (docs/versions.md): tags, the keep-latest / keep-days policy with its
// per-namespace overrides, dry runs, the archive, and determinism across stores.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/json.h"
#include "store/archive.h"
#include "store/sqlite.h"
#include "store/tests/store_test_util.h"

namespace cairn::store::testing {
namespace {

constexpr int64_t kDay = 86'400'000;

api::Command tag(const std::string& ns, const std::string& key, int64_t version,
                 const std::string& name, bool remove = false) {
  return api::Command{"req", "dave", api::TagVersion{ns, key, version, name, remove}};
}

api::Command cleanup(std::optional<std::string> ns, std::optional<int64_t> keep_latest,
                     std::optional<int64_t> keep_days, bool dry_run = false) {
  return api::Command{"req", "system",
                      api::CleanupVersions{std::move(ns), keep_latest, keep_days, dry_run}};
}

api::Command set_retention(int64_t id, std::optional<int64_t> keep_latest,
                           std::optional<int64_t> keep_days) {
  return api::Command{"req", "alice",
                      api::UpdateNamespace{id, std::nullopt, std::nullopt, keep_latest, keep_days}};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class RetentionTest : public StoreFixture {
 protected:
  /// Namespace `ns` holding `key` with versions 1..n, one per second.
  void make_versions(const std::string& ns, const std::string& key, int n) {
    if (!store_->list_namespaces({ns, std::nullopt}, {1, 10})->total) ok(ns_create(ns));
    ok(write(ns, op_create(key, "{\"v\":1}")));
    for (int i = 2; i <= n; ++i) {
      ok(write(ns, op_update(key, "{\"v\":" + std::to_string(i) + "}")));
    }
  }
  std::vector<int64_t> kept(const std::string& ns, const std::string& key) {
    std::vector<int64_t> out;
    auto page = store_->versions(ns, key, {1, 1000});
    EXPECT_TRUE(page.ok());
    if (!page.ok()) return out;
    for (const auto& v : page->items) out.insert(out.begin(), v.version);
    return out;
  }
  Json data(const api::CommandResult& r) { return *parse_json(rendered(r).data, 32); }
};

TEST_F(RetentionTest, KeepsTheLatestN) {
  make_versions("ns", "k", 10);
  auto r = ok(cleanup("ns", 3, 0));
  Json d = data(r);
  EXPECT_EQ(d["count"], 7);
  EXPECT_EQ(d["removed"][0]["version"], 1);
  EXPECT_EQ(d["removed"][6]["version"], 7);
  EXPECT_EQ(kept("ns", "k"), (std::vector<int64_t>{8, 9, 10}));
  auto gone = store_->get_version("ns", "k", 1);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, api::Errc::kNotFound);
  // Rolling back to a removed version is a 40401 too.
  err(rollback("ns", "k", 2), api::Errc::kNotFound);
  // Nothing more to remove; the revision never moved.
  uint64_t revision = store_->revision();
  EXPECT_EQ(data(ok(cleanup("ns", 3, 0)))["count"], 0);
  EXPECT_EQ(store_->revision(), revision);
}

TEST_F(RetentionTest, KeepsVersionsYoungerThanMDays) {
  ok(ns_create("ns"));
  int64_t base = now_ms_;
  for (int i = 1; i <= 10; ++i) {
    now_ms_ = base + (i - 1) * kDay;  // run() adds a second: version i is i-1 days old + 1 s
    ok(i == 1 ? write("ns", op_create("k", "1")) : write("ns", op_update("k", std::to_string(i))));
  }
  now_ms_ = base + 10 * kDay - 1000;  // the cleanup entry is stamped base + 10 days
  auto d = data(ok(cleanup("ns", 0, 3)));
  // Older than base + 7 days: versions 1..7 (version 8 was written at base + 7 days + 1 s).
  EXPECT_EQ(d["count"], 7);
  EXPECT_EQ(kept("ns", "k"), (std::vector<int64_t>{8, 9, 10}));
}

TEST_F(RetentionTest, TaggedAndCurrentVersionsAreAlwaysKept) {
  make_versions("ns", "k", 5);
  make_versions("ns", "gone", 3);
  ok(tag("ns", "k", 2, "release-1"));
  ok(tag("ns", "gone", 1, "first"));
  ok(write("ns", op_delete("gone")));
  // Neither count nor age protects anything: only tags and the current version survive.
  auto d = data(ok(cleanup("ns", 0, 0)));
  EXPECT_EQ(d["count"], 3 + 2);  // k: 1, 3, 4; gone: 2, 3 (a deleted key has no current)
  EXPECT_EQ(kept("ns", "k"), (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(kept("ns", "gone"), (std::vector<int64_t>{1}));
  auto versions = store_->versions("ns", "k", {1, 10});
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->items.back().tags, (std::vector<std::string>{"release-1"}));
  // Once untagged, the version goes at the next clean-up.
  ok(tag("ns", "k", 2, "release-1", /*remove=*/true));
  EXPECT_EQ(data(ok(cleanup("ns", 0, 0)))["count"], 1);
  EXPECT_EQ(kept("ns", "k"), (std::vector<int64_t>{5}));
}

TEST_F(RetentionTest, DefaultsKeepThirtyVersionsAndThirtyDays) {
  make_versions("ns", "k", 35);
  // All versions are younger than 30 days: nothing goes.
  EXPECT_EQ(data(ok(cleanup(std::nullopt, std::nullopt, std::nullopt)))["count"], 0);
  now_ms_ += 31 * kDay;
  auto d = data(ok(cleanup(std::nullopt, std::nullopt, std::nullopt)));
  EXPECT_EQ(d["count"], 5);
  EXPECT_EQ(d["namespaces"][0]["keep_latest"], 30);
  EXPECT_EQ(d["namespaces"][0]["keep_days"], 30);
  EXPECT_EQ(kept("ns", "k").front(), 6);
}

TEST_F(RetentionTest, NamespaceOverridesAndCommandOverrides) {
  make_versions("a", "k", 6);
  make_versions("b", "k", 6);
  auto set = ok(set_retention(1, 2, 0));
  EXPECT_EQ(data(set)["retention"]["keep_latest"], 2);
  EXPECT_EQ(data(set)["retention"]["keep_days"], 0);
  // Same values again: nothing to change, which succeeds (issue 15 item 3).
  EXPECT_EQ(data(ok(set_retention(1, 2, 0)))["changed"], false);
  err(set_retention(1, -5, std::nullopt), api::Errc::kValidation);
  auto d = data(ok(cleanup(std::nullopt, std::nullopt, std::nullopt)));
  EXPECT_EQ(d["count"], 4);  // a keeps 5, 6; b is protected by the default 30 days
  EXPECT_EQ(kept("a", "k"), (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(kept("b", "k").size(), 6u);
  // A command override beats the namespace's.
  EXPECT_EQ(data(ok(cleanup("a", 1, std::nullopt)))["count"], 1);
  // Reset: back to the defaults.
  auto reset = ok(set_retention(1, api::kRetentionReset, api::kRetentionReset));
  EXPECT_EQ(data(reset)["retention"]["keep_latest"], 30);
  EXPECT_EQ(data(reset)["retention"]["keep_latest_overridden"], false);
  err(cleanup("nope", 1, 1), api::Errc::kNamespaceNotFound);
  err(cleanup("a", -1, 1), api::Errc::kValidation);
}

TEST_F(RetentionTest, DryRunChangesNothing) {
  make_versions("ns", "k", 6);
  std::string before = store_->checksum();
  auto dry = ok(cleanup("ns", 2, 0, true));
  EXPECT_EQ(data(dry)["count"], 4);
  EXPECT_EQ(data(dry)["dry_run"], true);
  EXPECT_FALSE(data(dry).contains("archive"));
  EXPECT_EQ(kept("ns", "k").size(), 6u);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(path_).parent_path() / "archive"));
  // Only applied_index moved (it is part of the checksum), so compare the version rows.
  auto real = ok(cleanup("ns", 2, 0));
  EXPECT_EQ(data(real)["removed"], data(dry)["removed"]);
  EXPECT_NE(before, store_->checksum());
}

TEST_F(RetentionTest, ArchiveHoldsEveryRemovedVersionBeforeItGoes) {
  make_versions("ns", "k", 4);
  auto d = data(ok(cleanup("ns", 1, 0)));
  std::string expected_path = archive_path(path_, now_ms_);
  EXPECT_EQ(d["archive"], "archive/" + std::filesystem::path(expected_path).filename().string());
  EXPECT_EQ(std::filesystem::path(expected_path).filename().string(), "2024-01-20.jsonl");
  std::istringstream lines(read_file(expected_path));
  std::string line;
  int64_t n = 0;
  while (std::getline(lines, line)) {
    auto j = parse_json(line, 8);
    ASSERT_TRUE(j) << line;
    ++n;
    EXPECT_EQ((*j)["namespace"], "ns");
    EXPECT_EQ((*j)["key"], "k");
    EXPECT_EQ((*j)["version"], n);
    EXPECT_EQ((*j)["value"]["v"], n);
    EXPECT_EQ((*j)["created_by"], "bob");
    EXPECT_EQ((*j)["removed_at"], "2024-01-20T07:06:46Z");
    EXPECT_TRUE((*j)["created_at"].is_string());
  }
  EXPECT_EQ(n, 3);
}

TEST_F(RetentionTest, TagRules) {
  make_versions("ns", "k", 3);
  err(tag("ns", "k", 9, "x"), api::Errc::kNotFound);
  err(tag("ns", "nokey", 1, "x"), api::Errc::kConfigNotFound);
  err(tag("nons", "k", 1, "x"), api::Errc::kNamespaceNotFound);
  err(tag("ns", "k", 1, "bad tag"), api::Errc::kValidation);
  auto first = ok(tag("ns", "k", 1, "stable"));
  EXPECT_EQ(data(first)["tags"], Json::array({"stable"}));
  ok(tag("ns", "k", 1, "stable"));  // idempotent
  ok(tag("ns", "k", 1, "audit"));
  err(tag("ns", "k", 2, "stable"), api::Errc::kConflict);  // a tag names one version
  err(tag("ns", "k", 2, "stable", true), api::Errc::kNotFound);
  auto v1 = store_->get_version("ns", "k", 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->tags, (std::vector<std::string>{"audit", "stable"}));
  ok(tag("ns", "k", 1, "stable", true));
  EXPECT_EQ(store_->get_version("ns", "k", 1)->tags, (std::vector<std::string>{"audit"}));
}

TEST_F(RetentionTest, SchemaOneDatabaseIsMigrated) {
  store_.reset();
  // Turn the fresh database back into a schema-1 one.
  {
    auto conn = Conn::open(path_, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(conn.ok());
    (*conn)->exec(
        "DROP TABLE config_tag; DROP TABLE namespace_retention; DROP TABLE auth_token; "
        "DROP TABLE audit_log; DROP TABLE namespace_tombstone; DROP TABLE namespace_secret; "
        "DROP TABLE namespace_schema; DROP TABLE namespace_schema_history; "
        "DROP TABLE schema_violation; "
        "DROP TABLE gray_release; ALTER TABLE config_history DROP COLUMN release_id; "
        "UPDATE meta SET value = 1 WHERE name = 'schema_version'");
  }
  reopen();
  make_versions("ns", "k", 2);
  ok(tag("ns", "k", 1, "t"));
}

TEST(RetentionDeterminism, SameCommandsPruneTheSameVersions) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("a"));
  std::filesystem::create_directories(dir.file("b"));
  auto a = open_store(dir.file("a/cairn.db"));
  auto b = open_store(dir.file("b/cairn.db"));
  std::vector<api::Command> commands = {ns_create("n0"), ns_create("n1")};
  for (int i = 0; i < 40; ++i) {
    std::string ns = i % 3 ? "n0" : "n1";
    std::string key = "k" + std::to_string(i % 4);
    commands.push_back(write(ns, op_create(key, std::to_string(i))));
    commands.push_back(write(ns, op_update(key, "[" + std::to_string(i) + "]")));
    if (i % 5 == 0) commands.push_back(tag(ns, key, 1 + i % 3, "t" + std::to_string(i % 2)));
    if (i % 7 == 0) commands.push_back(set_retention(1 + i % 2, i % 4, i % 3));
    if (i % 6 == 0) commands.push_back(cleanup(std::nullopt, std::nullopt, std::nullopt));
    if (i % 9 == 0) commands.push_back(cleanup(ns, 1, 0, i % 2 == 0));
    if (i % 4 == 3) commands.push_back(write(ns, op_delete(key)));
  }
  uint64_t index = 0;
  for (const auto& c : commands) {
    ++index;
    int64_t ts = 1705734400000 + static_cast<int64_t>(index) * kDay / 4;  // spans ~2 weeks
    Applied ra = a->apply(c, index, ts);
    Applied rb = b->apply(c, index, ts);
    ASSERT_EQ(ra.result.code, rb.result.code);
    ASSERT_EQ(rendered(ra.result).data, rendered(rb.result).data);
  }
  EXPECT_EQ(a->checksum(), b->checksum());
  a.reset();
  b.reset();
  EXPECT_EQ(dump_tables(dir.file("a/cairn.db")), dump_tables(dir.file("b/cairn.db")));
  std::vector<std::string> files_a, files_b;
  for (auto& e : std::filesystem::directory_iterator(dir.file("a/archive"))) {
    files_a.push_back(e.path().filename().string());
    EXPECT_EQ(read_file(e.path().string()),
              read_file(dir.file("b/archive/" + e.path().filename().string())));
  }
  for (auto& e : std::filesystem::directory_iterator(dir.file("b/archive"))) {
    files_b.push_back(e.path().filename().string());
  }
  EXPECT_FALSE(files_a.empty());
  EXPECT_EQ(files_a.size(), files_b.size());
}

}  // namespace
}  // namespace cairn::store::testing
