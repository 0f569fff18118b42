#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/errors.h"
#include "common/result.h"

namespace cairn::store {

class Stmt;

/// One SQLite connection with a cache of prepared statements and a sticky error: the first
/// SQLite failure since clear_error() is kept, later calls still run (so that ROLLBACK works
/// after a failure) and the caller turns the kept message into a 50002 at its boundary. This
/// keeps the state machine's code free of a check after every statement while no failure can
/// go unnoticed. Used by one thread at a time; owned by Store::Impl.
class Conn {
 public:
  /// Opens `path` with sqlite3_open_v2 `flags`; sets busy_timeout.
  static Result<std::unique_ptr<Conn>, api::Error> open(const std::string& path, int flags);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  /// A statement for `sql`, from the cache unless that one is in use.
  Stmt prepare(std::string_view sql);
  /// Runs one or more statements without results; false (and the error kept) on failure.
  bool exec(std::string_view sql);
  /// First text column of the first row of `sql`, or nullopt.
  std::optional<std::string> query_text(std::string_view sql);

  void fail(std::string message);
  void fail_from_db(std::string_view what);  // "what: sqlite3_errmsg"
  bool failed() const { return error_.has_value(); }
  /// Returns and clears the kept error.
  std::optional<std::string> take_error();
  void clear_error() { error_.reset(); }
  /// The kept error as a 50002, or nullopt.
  std::optional<api::Error> db_error() const;

  int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  /// Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() const { return db_; }
  /// Calls `*fn` with the SQL and run time (ns) after every statement (SQLite's profile hook);
  /// `fn` must outlive the connection. Null or empty: no hook.
  void observe(const std::function<void(std::string_view, int64_t)>* fn);

 private:
  friend class Stmt;
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  explicit Conn(sqlite3* db) : db_(db) {}
  /// Resets `stmt` and gives it back: to its cache entry (`cached`, whose address std::map
  /// keeps stable), or finalizes it when it was prepared for one use (`cached` null).
  void release(sqlite3_stmt* stmt, Cached* cached);

  sqlite3* db_;
  std::map<std::string, Cached, std::less<>> cache_;
  std::optional<std::string> error_;
};

/// A prepared statement borrowed from a Conn: bind positionally, step, read columns. Reset and
/// given back to the cache on destruction. Failures are recorded in the Conn.
class Stmt {
 public:
  /// `cached`: the cache entry the statement came from; null for a statement of one use.
  Stmt(Conn& conn, sqlite3_stmt* stmt, Conn::Cached* cached)
      : conn_(conn), stmt_(stmt), cached_(cached) {}
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int64_t v);
  Stmt& bind(uint64_t v) { return bind(static_cast<int64_t>(v)); }
  Stmt& bind(int v) { return bind(static_cast<int64_t>(v)); }
  Stmt& bind(std::string_view v);
  Stmt& bind(const std::string& v) { return bind(std::string_view(v)); }
  Stmt& bind(const char* v) { return bind(std::string_view(v)); }
  Stmt& bind(const std::optional<std::string>& v);
  Stmt& bind(const std::optional<int64_t>& v);  // NULL when empty

  /// True when a row is available; false at the end or on failure (kept in the Conn).
  bool step();
  /// Steps to completion.
  void run();

  int columns() const;
  int type(int col) const;
  bool is_null(int col) const;
  int64_t i64(int col) const;
  std::string text(int col) const;
  std::optional<std::string> opt_text(int col) const;
  std::string_view blob(int col) const;

 private:
  Conn& conn_;
  sqlite3_stmt* stmt_;
  Conn::Cached* cached_;
  int next_param_ = 1;
  bool done_ = false;
};

}  // namespace cairn::store
