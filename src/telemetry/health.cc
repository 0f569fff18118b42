#include "telemetry/health.h"

#include <sqlite3.h>

#include <chrono>

namespace cairn::telemetry {
namespace {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

HealthChecker::HealthChecker(int64_t interval_ms, Family<Gauge>& status)
    : interval_ms_(interval_ms), status_(status) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::add(std::string component, Check check) {
  checks_.emplace_back(std::move(component), std::move(check));
}

void HealthChecker::start() {
  check_now();
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (
        !cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return stopping_; })) {
      lock.unlock();
      check_now();
      lock.lock();
    }
  });
}

void HealthChecker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthChecker::check_now() {
  for (const auto& [name, check] : checks_) {
    const int64_t start = steady_ms();
    auto r = check();
    CheckResult result{r.ok(), steady_ms() - start, r.ok() ? std::string() : r.error()};
    status_.with({name}).set(result.healthy ? 1 : 0);
    std::lock_guard lock(mu_);
    results_[name] = std::move(result);
  }
}

std::optional<CheckResult> HealthChecker::last(const std::string& component) const {
  std::lock_guard lock(mu_);
  auto it = results_.find(component);
  if (it == results_.end()) return std::nullopt;
  return it->second;
}

Result<Ok, std::string> check_sqlite(const std::string& path, int busy_ms) {
  sqlite3* db = nullptr;
  // Not SQLITE_OPEN_CREATE: a database that vanished is a failure, not a new empty file.
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  auto fail = [&](const std::string& what) -> Result<Ok, std::string> {
    std::string message = what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    if (db) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close(db);
    }
    return Unexpected{std::move(message)};
  };
  if (rc != SQLITE_OK) return fail("open");
  sqlite3_busy_timeout(db, busy_ms);
  if (sqlite3_exec(db, "PRAGMA user_version; SELECT count(*) FROM sqlite_master;", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    return fail("read");
  }
  // BEGIN IMMEDIATE takes the write lock, which a read-only file or directory refuses; the
  // write itself stays in this connection's cache and is rolled back.
  if (sqlite3_exec(db,
                   "BEGIN IMMEDIATE; "
                   "CREATE TABLE cairn_health_probe(x INTEGER); "
                   "INSERT INTO cairn_health_probe VALUES (1);",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail("write");
  }
  if (sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("rollback");
  sqlite3_close(db);
  return Ok{};
}

}  // namespace cairn::telemetry
