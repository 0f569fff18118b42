// Backup files (store/backup.h): written from a running store, checked offline, damaged ones
// refused with the reason, restored as a new cluster's database; and the versions on disk
// (docs/operations.md, "Upgrades"): a newer schema is refused naming both versions, every older
// one is migrated.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <openssl/evp.h>

#include "store/backup.h"
#include "store/impl.h"
#include "store/schema.h"
#include "store/tests/store_test_util.h"

namespace cairn::store::testing {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

class BackupTest : public StoreFixture {
 protected:
  void fill() {
    ok(ns_create("svc"));
    ok(writes("svc", {op_create("a", R"({"x":1})"), op_create("b", "[1,2]")}, true));
    ok(write("svc", op_update("a", R"({"x":2.50})")));
    store_->stage_raft_state(3, "conf-bytes-of-the-old-cluster");
    ok(ns_create("other"));
  }
  api::BackupHeader identity() {
    api::BackupHeader h;
    h.cluster_id = "prod";
    h.node_id = "n2";
    h.cairn_version = "test";
    h.created_at_ms = 1700000000000;
    return h;
  }
};

TEST_F(BackupTest, WrittenVerifiedAndRestoredWithTheSameContents) {
  fill();
  std::string file = dir_.file("b.cairn");
  auto written = write_backup(*store_, identity(), file);
  ASSERT_TRUE(written.ok()) << written.error().details;
  EXPECT_EQ(written->cluster_id, "prod");
  EXPECT_EQ(written->applied_index, store_->applied_index());
  EXPECT_EQ(written->revision, store_->revision());
  EXPECT_EQ(written->schema_version, kSchemaVersion);
  EXPECT_EQ(written->checksum, store_->content_checksum());
  EXPECT_NE(written->checksum, store_->checksum());  // meta's Raft rows are left out
  EXPECT_FALSE(std::filesystem::exists(file + ".tmp"));
  EXPECT_FALSE(std::filesystem::exists(file + ".db.tmp"));

  uint64_t last_done = 0, total = 0;
  std::string db = dir_.file("restored/cairn.db");
  std::filesystem::create_directories(dir_.file("restored"));
  auto verified = verify_backup(file, db, [&](uint64_t d, uint64_t t) {
    EXPECT_GE(d, last_done);
    last_done = d;
    total = t;
  });
  ASSERT_TRUE(verified.ok()) << verified.error().details;
  EXPECT_EQ(verified->checksum, written->checksum);
  EXPECT_EQ(last_done, written->payload_bytes);
  EXPECT_EQ(total, written->payload_bytes);

  ASSERT_TRUE(prepare_restored_database(db, "new-conf").ok());
  auto restored = open_store(db);
  EXPECT_EQ(restored->content_checksum(), written->checksum);
  EXPECT_EQ(restored->revision(), written->revision);
  EXPECT_EQ(restored->applied_index(), written->applied_index);
  EXPECT_EQ(restored->raft_state().conf, "new-conf");
  EXPECT_EQ(restored->raft_state().term, 3u);
  EXPECT_EQ(restored->members_json(), "");
  // Writes go on from the backup's revision.
  Applied a = restored->apply(write("svc", op_update("b", "3")), written->applied_index + 1, 9);
  ASSERT_TRUE(a.result.ok()) << a.result.details;
  EXPECT_EQ(a.result.revision, written->revision + 1);
}

TEST_F(BackupTest, StandaloneRestoreDropsRaftStateAndKeepsAtLeastTermOne) {
  ok(ns_create("svc"));  // a standalone store: no Raft state
  std::string file = dir_.file("b.cairn");
  ASSERT_TRUE(write_backup(*store_, identity(), file).ok());
  std::string db = dir_.file("c.db");
  ASSERT_TRUE(verify_backup(file, db).ok());
  ASSERT_TRUE(prepare_restored_database(db, "conf").ok());
  {
    auto s = open_store(db);
    EXPECT_EQ(s->raft_state().term, 1u);  // a cluster node refuses term 0 with data
  }
  std::string db2 = dir_.file("d.db");
  ASSERT_TRUE(verify_backup(file, db2).ok());
  ASSERT_TRUE(prepare_restored_database(db2, "").ok());
  auto s = open_store(db2);
  EXPECT_EQ(s->raft_state().term, 0u);
  EXPECT_EQ(s->raft_state().conf, "");
}

TEST_F(BackupTest, DamagedFilesAreRefusedWithTheReason) {
  fill();
  std::string file = dir_.file("b.cairn");
  auto written = write_backup(*store_, identity(), file);
  ASSERT_TRUE(written.ok());
  const std::string bytes = read_all(file);
  const size_t payload = bytes.size() - written->payload_bytes;
  auto refused = [&](const std::string& content, const std::string& reason) {
    std::string f = dir_.file("bad.cairn");
    write_all(f, content);
    auto r = verify_backup(f);
    ASSERT_FALSE(r.ok()) << reason;
    EXPECT_EQ(r.error().code, api::Errc::kBadRequest);
    EXPECT_NE(r.error().details.find(reason), std::string::npos) << r.error().details;
    EXPECT_FALSE(std::filesystem::exists(f + ".verify.db"));
  };
  refused("", "ends inside the header");
  refused("SQLite format 3", "no CAIRN-BACKUP line");
  refused(bytes.substr(0, 20), "ends inside the header");
  refused(bytes.substr(0, bytes.size() - 100), "truncated");
  refused(bytes + "x", "longer than its header says");
  std::string flipped = bytes;
  flipped[payload + 5000] ^= 1;
  refused(flipped, "SHA-256 mismatch");
  // A header that lies about the contents (with a matching SHA-256) is caught by the checksum.
  std::string lie = bytes;
  size_t at = lie.find(written->checksum);
  lie[at] = lie[at] == '0' ? '1' : '0';
  refused(lie, "contents checksum");
  std::string newer = bytes;
  newer.replace(newer.find("\"format_version\":1"), 18, "\"format_version\":9");
  refused(newer, "backup format version 9 is newer than this release's 1");
}

TEST(BackupHeaderCodec, RoundTripAndRefusals) {
  api::BackupHeader h;
  h.cluster_id = "c";
  h.node_id = "n";
  h.checksum = std::string(64, 'a');
  h.payload_sha256 = std::string(64, 'b');
  h.payload_bytes = 12;
  h.revision = 7;
  h.applied_index = 1ull << 40;
  h.secret_key_ids = {"k1", "k2"};
  std::string text = api::encode_backup_header(h) + "payload";
  auto d = api::decode_backup_header(text);
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(text.substr(d->payload_offset), "payload");
  EXPECT_EQ(d->header.applied_index, h.applied_index);
  EXPECT_EQ(d->header.secret_key_ids, h.secret_key_ids);
  EXPECT_FALSE(api::decode_backup_header("CAIRN-BACKUP\n{}\n").ok());
  EXPECT_FALSE(api::decode_backup_header("CAIRN-BACKUP\n[1]\n").ok());
  EXPECT_EQ(api::decode_backup_header("CAIRN-BA").error(), "incomplete backup header");
  std::string negative = api::encode_backup_header(h);
  negative.replace(negative.find("\"revision\":7"), 12, "\"revision\":-7");
  EXPECT_FALSE(api::decode_backup_header(negative).ok());
}

// ---- versions on disk ----

TEST_F(BackupTest, NewerSchemaIsRefusedNamingBothVersions) {
  ok(ns_create("svc"));
  store_.reset();
  {
    auto conn = Conn::open(path_, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(conn.ok());
    (*conn)->exec("UPDATE meta SET value = " + std::to_string(kSchemaVersion + 1) +
                  " WHERE name = 'schema_version'");
  }
  Options o;
  o.path = path_;
  auto opened = Store::open(o);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().details,
            "database schema version " + std::to_string(kSchemaVersion + 1) +
                " is newer than this release's " + std::to_string(kSchemaVersion));
}

// What each schema version added (schema.cc), undone newest first: a database at version v is
// the current one minus the steps after v.
const char* const kUndo[] = {
    /* 7 -> 6 */ "DROP TABLE gray_release; ALTER TABLE config_history DROP COLUMN release_id;",
    /* 6 -> 5 */
    "DROP TABLE namespace_schema; DROP TABLE namespace_schema_history; "
    "DROP TABLE schema_violation;",
    /* 5 -> 4 */ "DROP TABLE namespace_secret;",
    /* 4 -> 3 */ "DROP TABLE namespace_tombstone;",
    /* 3 -> 2 */ "DROP TABLE auth_token; DROP TABLE audit_log;",
    /* 2 -> 1 */ "DROP TABLE config_tag; DROP TABLE namespace_retention;",
};
static_assert(std::size(kUndo) == kSchemaVersion - 1, "one undo step per schema version");

class MigrationTest : public StoreFixture, public ::testing::WithParamInterface<int> {};

TEST_P(MigrationTest, OlderSchemaIsMigratedWithItsRows) {
  const int from = GetParam();
  ok(ns_create("svc"));
  ok(writes("svc", {op_create("a", R"({"x":1})"), op_create("b", "2")}, true));
  ok(write("svc", op_update("a", "3")));
  store_.reset();
  {
    auto conn = Conn::open(path_, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(conn.ok());
    for (int v = kSchemaVersion; v > from; --v) {
      ASSERT_TRUE((*conn)->exec(kUndo[kSchemaVersion - v])) << v;
    }
    (*conn)->exec("UPDATE meta SET value = " + std::to_string(from) +
                  " WHERE name = 'schema_version'");
  }
  reopen();
  auto conn = Conn::open(path_, SQLITE_OPEN_READONLY);
  EXPECT_EQ(read_meta(**conn, "schema_version"), kSchemaVersion);
  auto a = store_->get_version("svc", "a", 2);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->value, "3");
  EXPECT_EQ(store_->history("svc", "a", {})->total, 2);
  // Everything later releases added works on the migrated file.
  ok(write("svc", op_update("b", "4")));
  EXPECT_FALSE(store_->checksum().empty());
  // A backup of a migrated file verifies.
  auto written = write_backup(*store_, {}, dir_.file("m.cairn"));
  ASSERT_TRUE(written.ok()) << written.error().details;
  EXPECT_TRUE(verify_backup(dir_.file("m.cairn")).ok());
}

INSTANTIATE_TEST_SUITE_P(EachOlderSchema, MigrationTest, ::testing::Range(1, int(kSchemaVersion)));

TEST_F(BackupTest, BackupOfAnOlderSchemaIsRestoredIntoThisRelease) {
  ok(ns_create("svc"));
  ok(write("svc", op_create("k", "1")));
  store_.reset();
  {
    auto conn = Conn::open(path_, SQLITE_OPEN_READWRITE);
    for (int v = kSchemaVersion; v > 3; --v) ASSERT_TRUE((*conn)->exec(kUndo[kSchemaVersion - v]));
    (*conn)->exec("UPDATE meta SET value = 3 WHERE name = 'schema_version'");
  }
  // A backup file as a release at schema 3 would have written it: its payload is that file.
  std::string image = dir_.file("old.db");
  {
    auto conn = Conn::open(path_, SQLITE_OPEN_READWRITE);
    (*conn)->exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;");
  }
  std::filesystem::copy_file(path_, image);
  // The header is measured on the old file itself.
  std::string file = dir_.file("old.cairn");
  {
    TempDir tmp;
    std::string copy = tmp.file("copy.db");
    std::filesystem::copy_file(image, copy);
    auto db = Conn::open(copy, SQLITE_OPEN_READONLY);
    api::BackupHeader h;
    h.applied_index = static_cast<uint64_t>(read_meta(**db, "applied_index"));
    h.revision = static_cast<uint64_t>(read_meta(**db, "revision"));
    h.schema_version = 3;
    h.checksum = canonical_checksum(**db, true);
    ASSERT_FALSE(h.checksum.empty());
    std::string payload = read_all(image);
    h.payload_bytes = payload.size();
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(payload.data(), payload.size(), md, &n, EVP_sha256(), nullptr);
    static const char* kHex = "0123456789abcdef";
    for (unsigned i = 0; i < n; ++i) {
      h.payload_sha256 += kHex[md[i] >> 4];
      h.payload_sha256 += kHex[md[i] & 15];
    }
    write_all(file, api::encode_backup_header(h) + payload);
  }
  std::string db = dir_.file("new.db");
  auto verified = verify_backup(file, db);
  ASSERT_TRUE(verified.ok()) << verified.error().details;
  EXPECT_EQ(verified->schema_version, 3);
  ASSERT_TRUE(prepare_restored_database(db, "").ok());
  auto s = open_store(db);
  auto k = s->get_version("svc", "k", 1);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->value, "1");
}

}  // namespace
}  // namespace cairn::store::testing
