#include "store/tests/store_test_util.h"

#include <sqlite3.h>

namespace cairn::store::testing {

std::unique_ptr<Store> open_store(const std::string& path) {
  Options options;
  options.path = path;
  options.synchronous_full = false;
  auto store = Store::open(options);
  EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().details);
  return store.ok() ? std::move(*store) : nullptr;
}

api::Command ns_create(const std::string& name, const std::string& description) {
  return api::Command{"req", "alice", api::CreateNamespace{name, description}};
}

api::Command ns_update(int64_t id, std::optional<std::string> description,
                       std::optional<int> status) {
  return api::Command{"req", "alice", api::UpdateNamespace{id, std::move(description), status, std::nullopt, std::nullopt}};
}

api::Command ns_delete(int64_t id) { return api::Command{"req", "alice", api::DeleteNamespace{id}}; }

api::ConfigWrite op_create(const std::string& key, const std::string& value) {
  api::ConfigWrite w;
  w.op = api::ConfigOp::kCreate;
  w.key = key;
  w.value = value;
  return w;
}

api::ConfigWrite op_update(const std::string& key, std::optional<std::string> value,
                           std::optional<int64_t> expected) {
  api::ConfigWrite w;
  w.op = api::ConfigOp::kUpdate;
  w.key = key;
  w.value = std::move(value);
  w.expected_version = expected;
  return w;
}

api::ConfigWrite op_delete(const std::string& key, std::optional<int64_t> expected) {
  api::ConfigWrite w;
  w.op = api::ConfigOp::kDelete;
  w.key = key;
  w.expected_version = expected;
  return w;
}

api::Command writes(const std::string& ns, std::vector<api::ConfigWrite> ops, bool batch) {
  return api::Command{"req", "bob", api::WriteConfigs{ns, std::move(ops), batch}};
}

api::Command write(const std::string& ns, api::ConfigWrite op) {
  return writes(ns, {std::move(op)}, false);
}

api::Command rollback(const std::string& ns, const std::string& key, int64_t target,
                      std::optional<int64_t> expected) {
  return api::Command{"req", "carol", api::RollbackConfig{ns, key, target, expected}};
}

void StoreFixture::SetUp() {
  path_ = dir_.file("cairn.db");
  store_ = open_store(path_);
  ASSERT_NE(store_, nullptr);
}

void StoreFixture::TearDown() { store_.reset(); }

Applied StoreFixture::run(const api::Command& command) {
  now_ms_ += 1000;
  return store_->apply(command, ++index_, now_ms_);
}

Rendered rendered(const api::CommandResult& result) {
  Rendered r;
  static_cast<api::CommandResult&>(r) = result;
  if (result.ok()) {
    r.message = std::string(api::outcome_message(result.outcome));
    r.data = api::outcome_data_json(result.outcome);
  }
  return r;
}

Rendered StoreFixture::ok(const api::Command& command) {
  Applied a = run(command);
  EXPECT_TRUE(a.result.ok()) << static_cast<int>(a.result.code) << " " << a.result.details;
  return rendered(a.result);
}

Rendered StoreFixture::err(const api::Command& command, api::Errc code) {
  Applied a = run(command);
  EXPECT_EQ(static_cast<int>(a.result.code), static_cast<int>(code)) << a.result.details;
  EXPECT_TRUE(a.changes.empty());
  return rendered(a.result);
}

void StoreFixture::reopen() {
  store_.reset();
  store_ = open_store(path_);
  ASSERT_NE(store_, nullptr);
}

std::string dump_tables(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  std::string out;
  const char* tables[][2] = {{"meta", "name"},           {"namespace", "id"},
                             {"config", "id"},           {"config_version", "id"},
                             {"config_history", "id"},   {"key_version", "namespace, \"key\""},
                             {"config_tag", "namespace_id, \"key\", tag"},
                             {"namespace_retention", "namespace_id"},
                             {"namespace_tombstone", "name"},
                             {"sqlite_sequence", "name"}};
  for (auto& t : tables) {
    std::string sql = std::string("SELECT * FROM ") + t[0] + " ORDER BY " + t[1];
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
    out += std::string("# ") + t[0] + "\n";
    while (sqlite3_step(s) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(s); ++c) {
        const unsigned char* v = sqlite3_column_text(s, c);
        out += v ? reinterpret_cast<const char*>(v) : "<null>";
        out += '|';
      }
      out += '\n';
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return out;
}

}  // namespace cairn::store::testing
