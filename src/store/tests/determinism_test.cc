#include <gtest/gtest.h>

#include <random>

#include "store/tests/store_test_util.h"

namespace cairn::store::testing {
namespace {

/// Random commands over a small name space, so that many of them fail (duplicates, missing
/// keys, wrong expected versions, non-empty namespaces).
std::vector<api::Command> random_commands(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<uint32_t>(k)); };
  std::vector<std::string> names = {"n0", "n1", "n2"};
  std::vector<std::string> keys = {"a", "b", "c", "d.e", "f:g"};
  auto value = [&] { return "{\"v\":" + std::to_string(pick(5)) + "}"; };
  auto op = [&]() -> api::ConfigWrite {
    switch (pick(3)) {
      case 0:
        return op_create(keys[pick(5)], value());
      case 1: {
        auto w = op_update(keys[pick(5)], pick(4) ? std::optional(value()) : std::nullopt,
                           pick(3) == 0 ? std::optional<int64_t>(1 + pick(4)) : std::nullopt);
        if (pick(3) == 0) w.status = pick(2);
        if (pick(4) == 0) w.description = "d" + std::to_string(pick(3));
        return w;
      }
      default:
        return op_delete(keys[pick(5)]);
    }
  };
  std::vector<api::Command> out;
  for (int i = 0; i < n; ++i) {
    switch (pick(10)) {
      case 0:
        out.push_back(ns_create(names[pick(3)]));
        break;
      case 1:
        out.push_back(ns_update(1 + pick(4), std::nullopt, pick(4) == 0 ? 0 : 1));
        break;
      case 2:
        out.push_back(ns_delete(1 + pick(4)));
        break;
      case 3:
        out.push_back(rollback(names[pick(3)], keys[pick(5)], 1 + pick(4)));
        break;
      case 4: {
        std::vector<api::ConfigWrite> ops;
        for (int j = 0, m = 1 + pick(4); j < m; ++j) ops.push_back(op());
        out.push_back(writes(names[pick(3)], std::move(ops), true));
        break;
      }
      default:
        out.push_back(write(names[pick(3)], op()));
    }
  }
  return out;
}

TEST(DeterminismTest, SameCommandsGiveSameTables) {
  TempDir dir;
  auto a = open_store(dir.file("a.db"));
  auto b = open_store(dir.file("b.db"));
  auto commands = random_commands(42, 400);
  // Namespaces first so that most config commands land somewhere.
  int ok_count = 0, fail_count = 0;
  uint64_t index = 0;
  for (const auto& name : {"n0", "n1", "n2"}) {
    ++index;
    a->apply(ns_create(name), index, 1000 * static_cast<int64_t>(index));
    b->apply(ns_create(name), index, 1000 * static_cast<int64_t>(index));
  }
  for (const auto& c : commands) {
    ++index;
    Applied ra = a->apply(c, index, 1000 * static_cast<int64_t>(index));
    Applied rb = b->apply(c, index, 1000 * static_cast<int64_t>(index));
    ASSERT_EQ(ra.result.code, rb.result.code);
    ASSERT_EQ(rendered(ra.result).data, rendered(rb.result).data);
    ASSERT_EQ(ra.result.details, rb.result.details);
    ra.result.ok() ? ++ok_count : ++fail_count;
    if (index % 7 == 0) {
      a->mark_applied(++index);
      b->mark_applied(index);
    }
  }
  EXPECT_GT(ok_count, 50);
  EXPECT_GT(fail_count, 50);
  EXPECT_EQ(a->checksum(), b->checksum());
  EXPECT_EQ(a->checksum().size(), 64u);
  EXPECT_EQ(a->revision(), b->revision());
  a.reset();
  b.reset();
  EXPECT_EQ(dump_tables(dir.file("a.db")), dump_tables(dir.file("b.db")));

  // A different order gives a different checksum.
  auto c = open_store(dir.file("c.db"));
  c->apply(ns_create("n1"), 1, 1000);
  c->apply(ns_create("n0"), 2, 2000);
  auto d = open_store(dir.file("d.db"));
  d->apply(ns_create("n0"), 1, 1000);
  d->apply(ns_create("n1"), 2, 2000);
  EXPECT_NE(c->checksum(), d->checksum());
}

}  // namespace
}  // namespace cairn::store::testing
