#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/json.h"
#include "store/store.h"
#include "test_support.h"

namespace cairn::store::testing {

using TempDir = ::cairn::test::TempDir;

std::unique_ptr<Store> open_store(const std::string& path);

api::Command ns_create(const std::string& name, const std::string& description = "");
api::Command ns_update(int64_t id, std::optional<std::string> description, std::optional<int> status);
api::Command ns_delete(int64_t id);
api::ConfigWrite op_create(const std::string& key, const std::string& value);
api::ConfigWrite op_update(const std::string& key, std::optional<std::string> value,
                           std::optional<int64_t> expected = std::nullopt);
api::ConfigWrite op_delete(const std::string& key, std::optional<int64_t> expected = std::nullopt);
api::Command writes(const std::string& ns, std::vector<api::ConfigWrite> ops, bool batch);
api::Command write(const std::string& ns, api::ConfigWrite op);
api::Command rollback(const std::string& ns, const std::string& key, int64_t target,
                      std::optional<int64_t> expected = std::nullopt);

/// A result with the native API's rendering of its outcome (api::outcome_message and
/// api::outcome_data_json), as a client would see it.
struct Rendered : api::CommandResult {
  std::string message;
  std::string data;
};
Rendered rendered(const api::CommandResult& result);

/// A Store plus a log index and clock that advance with every apply.
class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  Applied run(const api::Command& command);
  Rendered ok(const api::Command& command);                   // expects success
  Rendered err(const api::Command& command, api::Errc code);  // expects failure
  void reopen();

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
  uint64_t index_ = 0;
  int64_t now_ms_ = 1705734400000;  // 2024-01-20T07:06:40Z
};

/// Every table's rows as text, ordered by primary key (for byte comparisons of two files).
std::string dump_tables(const std::string& path);

}  // namespace cairn::store::testing
