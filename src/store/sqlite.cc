#include "store/sqlite.h"

#include "store/wal_vfs.h"

namespace cairn::store {

Result<std::unique_ptr<Conn>, api::Error> Conn::open(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, wal_vfs_name());
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Unexpected{api::make_error(api::Errc::kDatabase,
                                      "cannot open database '" + path + "': " + message)};
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  return std::unique_ptr<Conn>(new Conn(db));
}

void Conn::observe(const std::function<void(std::string_view, int64_t)>* fn) {
  if (!fn || !*fn) return;
  sqlite3_trace_v2(
      db_, SQLITE_TRACE_PROFILE,
      [](unsigned, void* ctx, void* stmt, void* ns) {
        const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(stmt));
        (*static_cast<const std::function<void(std::string_view, int64_t)>*>(ctx))(
            sql ? std::string_view(sql) : std::string_view(),
            static_cast<int64_t>(*static_cast<sqlite3_int64*>(ns)));
        return 0;
      },
      const_cast<void*>(static_cast<const void*>(fn)));
}

Conn::~Conn() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  sqlite3_close(db_);
}

Stmt Conn::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Stmt(*this, it->second.stmt, &it->second);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    fail_from_db("prepare");
    sqlite3_finalize(stmt);
    return Stmt(*this, nullptr, nullptr);
  }
  if (it == cache_.end()) {
    it = cache_.emplace(std::string(sql), Cached{stmt, true}).first;
    return Stmt(*this, stmt, &it->second);
  }
  return Stmt(*this, stmt, nullptr);  // the cached one is busy (nested use of the same SQL)
}

void Conn::release(sqlite3_stmt* stmt, Cached* cached) {
  if (stmt == nullptr) return;
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  if (cached == nullptr) {
    sqlite3_finalize(stmt);
    return;
  }
  cached->in_use = false;
}

bool Conn::exec(std::string_view sql) {
  if (sql.find(';') == std::string_view::npos) {
    // One statement (BEGIN, SAVEPOINT, RELEASE, COMMIT on every apply and read transaction):
    // prepared once and kept in the cache instead of parsed again by sqlite3_exec each time.
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                             SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) == SQLITE_OK &&
          stmt != nullptr) {
        it = cache_.emplace(std::string(sql), Cached{stmt, false}).first;
      } else {
        sqlite3_finalize(stmt);  // the general path below reports the error
      }
    }
    if (it != cache_.end() && !it->second.in_use) {
      sqlite3_stmt* stmt = it->second.stmt;
      int rc;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      }
      if (rc != SQLITE_DONE) {
        fail(std::string(sql) + ": " + sqlite3_errmsg(db_));
        sqlite3_reset(stmt);
        return false;
      }
      sqlite3_reset(stmt);
      return true;
    }
  }
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    fail(text + ": " + (message ? message : sqlite3_errstr(rc)));
    sqlite3_free(message);
    return false;
  }
  return true;
}

std::optional<std::string> Conn::query_text(std::string_view sql) {
  Stmt stmt = prepare(sql);
  if (!stmt.step()) return std::nullopt;
  return stmt.opt_text(0);
}

void Conn::fail(std::string message) {
  if (!error_) error_ = std::move(message);
}

void Conn::fail_from_db(std::string_view what) {
  fail(std::string(what) + ": " + sqlite3_errmsg(db_));
}

std::optional<std::string> Conn::take_error() {
  auto e = std::move(error_);
  error_.reset();
  return e;
}

std::optional<api::Error> Conn::db_error() const {
  if (!error_) return std::nullopt;
  return api::make_error(api::Errc::kDatabase, "sqlite: " + *error_);
}

Stmt::~Stmt() { conn_.release(stmt_, cached_); }

Stmt& Stmt::bind(int64_t v) {
  if (stmt_ && sqlite3_bind_int64(stmt_, next_param_, v) != SQLITE_OK) conn_.fail_from_db("bind");
  ++next_param_;
  return *this;
}

Stmt& Stmt::bind(std::string_view v) {
  if (stmt_ && sqlite3_bind_text64(stmt_, next_param_, v.data(), v.size(), SQLITE_TRANSIENT,
                                   SQLITE_UTF8) != SQLITE_OK) {
    conn_.fail_from_db("bind");
  }
  ++next_param_;
  return *this;
}

Stmt& Stmt::bind(const std::optional<std::string>& v) {
  if (v) return bind(std::string_view(*v));
  if (stmt_ && sqlite3_bind_null(stmt_, next_param_) != SQLITE_OK) conn_.fail_from_db("bind");
  ++next_param_;
  return *this;
}

Stmt& Stmt::bind(const std::optional<int64_t>& v) {
  if (v) return bind(*v);
  if (stmt_ && sqlite3_bind_null(stmt_, next_param_) != SQLITE_OK) conn_.fail_from_db("bind");
  ++next_param_;
  return *this;
}

bool Stmt::step() {
  if (stmt_ == nullptr || done_) return false;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  done_ = true;
  if (rc != SQLITE_DONE) {
    conn_.fail(std::string("step: ") + sqlite3_errmsg(conn_.handle()) + " (" +
               sqlite3_sql(stmt_) + ")");
  }
  return false;
}

void Stmt::run() {
  while (step()) {
  }
}

int Stmt::columns() const { return stmt_ ? sqlite3_column_count(stmt_) : 0; }
int Stmt::type(int col) const { return sqlite3_column_type(stmt_, col); }
bool Stmt::is_null(int col) const { return type(col) == SQLITE_NULL; }
int64_t Stmt::i64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Stmt::text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

std::optional<std::string> Stmt::opt_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

std::string_view Stmt::blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string_view(static_cast<const char*>(p), static_cast<size_t>(n))
           : std::string_view();
}

}  // namespace cairn::store
