// Progress lines of long CLI operations (issue 22): what is drawn, and that nothing is drawn
// when the output is not a terminal. The terminal check itself is exercised end to end by
// tests/e2e/test_backup.py (a pseudo-terminal against a pipe).

#include "cli/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace cairn::cli {
namespace {

TEST(Progress, RendersDoneOfTotalRateAndTimeLeft) {
  EXPECT_EQ(Progress::render("backup", Progress::Unit::kBytes, 512 * 1024, 1024 * 1024, 1000),
            "backup: 512.0 KiB of 1.0 MiB (50%), 512.0 KiB/s, 1s left");
  EXPECT_EQ(Progress::render("import", Progress::Unit::kEntries, 30, 120, 10000),
            "import: 30 of 120 (25%), 3/s, 30s left");
  EXPECT_EQ(Progress::render("restore", Progress::Unit::kBytes, 1 << 20, 901ull << 20, 1000),
            "restore: 1.0 MiB of 901.0 MiB (0%), 1.0 MiB/s, 15m00s left");
}

TEST(Progress, UnknownTotalAndNoTimeYet) {
  EXPECT_EQ(Progress::render("x", Progress::Unit::kBytes, 2048, 0, 2000), "x: 2.0 KiB, 1.0 KiB/s");
  EXPECT_EQ(Progress::render("x", Progress::Unit::kBytes, 0, 10, 0), "x: 0 B of 10 B (0%)");
  EXPECT_EQ(Progress::render("x", Progress::Unit::kEntries, 10, 10, 500), "x: 10 of 10 (100%), 20/s");
}

TEST(Progress, DisabledDrawsNothing) {
  ::testing::internal::CaptureStderr();
  {
    Progress p("quiet", Progress::Unit::kBytes, /*enabled=*/false);
    p.update(1, 2);
    p.update(2, 2);
    p.finish();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(Progress, EnabledRedrawsOneLineAndEndsIt) {
  ::testing::internal::CaptureStderr();
  {
    Progress p("loud", Progress::Unit::kEntries, /*enabled=*/true);
    p.update(1, 4);
    p.update(4, 4);
    p.finish();
    p.finish();  // once only
  }
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out.rfind("\r\033[Kloud: 1 of 4 (25%)", 0), 0u) << out;
  EXPECT_NE(out.find("\r\033[Kloud: 4 of 4 (100%)"), std::string::npos) << out;
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

}  // namespace
}  // namespace cairn::cli
