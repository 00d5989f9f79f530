// Spec: ferry_build_info and the standard process_* metrics, read from
// /proc/self at each scrape.

#include "api/observability/process_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ferry/version.h"

namespace ferry::observability {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;

TEST(ProcessMetricsTest, ParseProcStatReadsCpuStartAndMemory) {
  // A command name with a space and a parenthesis, as the kernel allows.
  const std::string stat =
      "4242 (ferry (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 150 0 0 20 0 7 0 "
      "5000 123456789 300 18446744073709551615";
  std::optional<StatFields> f = ParseProcStat(stat, 100, 1700000000, 4096);
  ASSERT_TRUE(f.has_value());
  EXPECT_DOUBLE_EQ(f->cpu_seconds, 4.0);  // (250 + 150) ticks / 100
  EXPECT_DOUBLE_EQ(f->start_time_seconds, 1700000050.0);
  EXPECT_DOUBLE_EQ(f->virtual_bytes, 123456789.0);
  EXPECT_DOUBLE_EQ(f->resident_bytes, 300.0 * 4096);
  EXPECT_FALSE(ParseProcStat("4242 (short) S 1 2", 100, 0, 4096).has_value());
}

TEST(ProcessMetricsTest, RenderHasBuildInfoAndLiveProcessValues) {
  Registry registry;
  ASSERT_TRUE(RegisterProcessMetrics(&registry, "agent").ok());
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr(std::string("ferry_build_info{version=\"") + kFerryVersion +
                              "\",component=\"agent\"} 1\n"));
  // This test process has some memory, descriptors and a start time.
  EXPECT_THAT(text, ContainsRegex("\nprocess_resident_memory_bytes [1-9][0-9]*\n"));
  EXPECT_THAT(text, ContainsRegex("\nprocess_open_fds [1-9][0-9]*\n"));
  EXPECT_THAT(text, ContainsRegex("\nprocess_start_time_seconds 1[0-9]{9}"));
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
  EXPECT_EQ(RegisterProcessMetrics(&registry, "agent").code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace ferry::observability
