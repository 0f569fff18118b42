// The LogStore conformance suite of src/raft, run over the WAL three ways: plain, with segments
// so small that almost every entry starts a new one, and synced after every mutation (so that
// reads, truncation and compaction act on files rather than on the write buffer).

#include <gtest/gtest.h>

#include "raft/tests/log_store_conformance.h"
#include "wal/tests/test_util.h"

namespace cairn::wal::test {
namespace {

using raft::Entry;
using raft::HardState;
using raft::Index;
using raft::LogError;
using raft::LogStore;
using raft::Term;

TempDir& root() {
  static TempDir dir;
  return dir;
}

std::string next_dir() {
  static int n = 0;
  return root().file("conformance" + std::to_string(n++));
}

template <uint64_t SegmentBytes>
struct WalFactory {
  static std::unique_ptr<LogStore> make() { return open_wal(next_dir(), SegmentBytes); }
  static std::unique_ptr<LogStore> reopen(std::unique_ptr<LogStore> s) {
    std::string dir = static_cast<WalLogStore&>(*s).options().dir;
    s.reset();
    return open_wal(dir, SegmentBytes);
  }
};

/// Forwards to a WAL and syncs after every mutation.
class AutoSyncWal final : public LogStore {
 public:
  explicit AutoSyncWal(std::unique_ptr<WalLogStore> w) : w_(std::move(w)) {}
  WalLogStore& wal() { return *w_; }
  HardState hard_state() const override { return w_->hard_state(); }
  void set_hard_state(const HardState& hs) override {
    w_->set_hard_state(hs);
    EXPECT_TRUE(w_->sync());
  }
  Index first_index() const override { return w_->first_index(); }
  Index last_index() const override { return w_->last_index(); }
  Result<Term, LogError> term(Index i) const override { return w_->term(i); }
  Result<std::vector<Entry>, LogError> entries(Index lo, Index hi,
                                               uint64_t max_bytes) const override {
    return w_->entries(lo, hi, max_bytes);
  }
  Result<Ok, LogError> append(const std::vector<Entry>& es) override {
    return synced(w_->append(es));
  }
  Result<Ok, LogError> truncate_suffix(Index from) override {
    return synced(w_->truncate_suffix(from));
  }
  Result<Ok, LogError> compact_prefix(Index upto) override {
    return synced(w_->compact_prefix(upto));
  }
  Result<Ok, LogError> reset(Index index, Term term) override {
    return synced(w_->reset(index, term));
  }
  Result<Ok, LogError> sync() override { return w_->sync(); }

 private:
  Result<Ok, LogError> synced(Result<Ok, LogError> r) {
    if (r) {
      EXPECT_TRUE(w_->sync()) << w_->last_error();
    }
    return r;
  }
  std::unique_ptr<WalLogStore> w_;
};

struct AutoSyncFactory {
  static constexpr uint64_t kSegmentBytes = 64;
  static std::unique_ptr<LogStore> make() {
    return std::make_unique<AutoSyncWal>(open_wal(next_dir(), kSegmentBytes));
  }
  static std::unique_ptr<LogStore> reopen(std::unique_ptr<LogStore> s) {
    std::string dir = static_cast<AutoSyncWal&>(*s).wal().options().dir;
    s.reset();
    return std::make_unique<AutoSyncWal>(open_wal(dir, kSegmentBytes));
  }
};

}  // namespace
}  // namespace cairn::wal::test

namespace cairn::raft::test {
using WalDefault = cairn::wal::test::WalFactory<64ull << 20>;
using WalTiny = cairn::wal::test::WalFactory<40>;
INSTANTIATE_TYPED_TEST_SUITE_P(Wal, LogStoreConformance, WalDefault);
INSTANTIATE_TYPED_TEST_SUITE_P(WalTinySegments, LogStoreConformance, WalTiny);
INSTANTIATE_TYPED_TEST_SUITE_P(WalAutoSync, LogStoreConformance, cairn::wal::test::AutoSyncFactory);
}  // namespace cairn::raft::test
