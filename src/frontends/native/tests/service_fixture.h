#pragma once

// The in-process handler fixture shared by the service tests: a real SQLite store in a temp
// dir, the index, a replicator that applies on the calling thread, and the routes.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "frontends/native/service.h"
#include "core/state_machine.h"
#include "core/test_replicator.h"
#include "test_support.h"

namespace cairn::native::testing {

class ServiceFixture : public ::testing::Test {
 protected:
  /// Set by a derived fixture's constructor to run with a smaller value limit.
  size_t max_value_bytes_ = api::kDefaultMaxValueBytes;

  void SetUp() override {
    store::Options options;
    options.path = dir_.file("cairn.db");
    options.max_value_bytes = max_value_bytes_;
    auto opened = store::Store::open(options);
    ASSERT_TRUE(opened.ok()) << opened.error().details;
    store_ = std::move(*opened);
    ASSERT_TRUE(index_.load(*store_).ok());
    sm_ = std::make_unique<core::ConfigStateMachine>(*store_, index_);
    replicator_ = std::make_unique<core::InlineReplicator>(*sm_);
    ServiceOptions so;
    so.max_value_bytes = max_value_bytes_;
    core_ = std::make_unique<core::Core>(core::CoreOptions{}, *store_, index_, *replicator_);
    service_ = std::make_unique<Service>(so, *core_);
    service_->register_routes(router_);
  }

  struct Reply {
    int status = 0;
    Json body;
    std::string raw;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string header(const std::string& name) const {
      for (const auto& [k, v] : headers) {
        if (k == name) return v;
      }
      return {};
    }
  };

  /// Dispatches one request through the routes; the handlers answer on this thread.
  Reply call(const std::string& method, const std::string& target, const std::string& body,
             std::vector<std::pair<std::string, std::string>> headers) {
    auto req = std::make_shared<http::Request>();
    req->method = method;
    req->target = target;
    EXPECT_TRUE(http::parse_target(target, req->path, req->query)) << target;
    req->body = body;
    req->request_id = "test";
    req->headers = std::move(headers);
    Reply out;
    router_.dispatch(req, [&out](http::Response res) {
      out.status = res.status;
      out.raw = res.body;
      out.headers = res.headers;
      if (!res.body.empty()) out.body = Json::parse(res.body);
    });
    EXPECT_NE(out.status, 0) << "no reply for " << target;
    return out;
  }

  cairn::test::TempDir dir_{"service_test"};
  std::unique_ptr<store::Store> store_;
  cache::Index index_;
  std::unique_ptr<core::ConfigStateMachine> sm_;
  std::unique_ptr<core::InlineReplicator> replicator_;
  std::unique_ptr<core::Core> core_;
  std::unique_ptr<Service> service_;
  http::Router router_;
};

}  // namespace cairn::native::testing
