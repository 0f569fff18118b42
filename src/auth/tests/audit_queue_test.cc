#include "auth/audit_queue.h"

#include <gtest/gtest.h>

#include <mutex>

namespace cairn::auth {
namespace {

api::AuditEntry entry(int i) {
  return api::AuditEntry{i, "a", "ip", "GET /x", "ns", "k", 40301, "r" + std::to_string(i)};
}

TEST(AuditQueue, SubmitsEverythingInBatchesAndDropsBeyondCapacity) {
  std::mutex mu;
  std::vector<api::AppendAudit> batches;
  {
    // A long interval: only stop() flushes, so what is queued is known exactly.
    AuditQueue q(
        [&](api::AppendAudit b) {
          std::lock_guard lock(mu);
          batches.push_back(std::move(b));
        },
        /*capacity=*/700, /*flush_interval_ms=*/3'600'000);
    for (int i = 0; i < 750; ++i) q.add(entry(i));
    EXPECT_EQ(q.dropped(), 50u);
    q.stop();
    q.add(entry(1000));
    EXPECT_EQ(q.dropped(), 51u) << "nothing is taken after stop";
  }
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].entries.size(), 500u);
  EXPECT_EQ(batches[1].entries.size(), 200u);
  EXPECT_EQ(batches[0].entries[0].at_ms, 0);
  EXPECT_EQ(batches[1].entries.back().at_ms, 699);
}

}  // namespace
}  // namespace cairn::auth
