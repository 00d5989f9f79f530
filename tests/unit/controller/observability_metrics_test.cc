#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "api/observability/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::observability {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CounterRendersHelpTypeAndOneSamplePerLabelSet) {
  Registry registry;
  CounterFamily* drift =
      registry.AddCounter("ferry_drift_detected_total", "Drift found.", {"node", "kind"}).value();
  drift->WithLabels({"node-a", "nftables"})->Increment();
  drift->WithLabels({"node-a", "nftables"})->Increment(2);
  drift->WithLabels({"node-a", "route"})->Increment();

  EXPECT_EQ(registry.Render(),
            "# HELP ferry_drift_detected_total Drift found.\n"
            "# TYPE ferry_drift_detected_total counter\n"
            "ferry_drift_detected_total{node=\"node-a\",kind=\"nftables\"} 3\n"
            "ferry_drift_detected_total{node=\"node-a\",kind=\"route\"} 1\n");
}

TEST(MetricsTest, CounterIgnoresNegativeIncrements) {
  Registry registry;
  Counter* c = registry.AddCounter("c_total", "h").value()->WithLabels({});
  c->Increment(5);
  c->Increment(-3);
  EXPECT_EQ(c->Value(), 5);
}

TEST(MetricsTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  Registry registry;
  GaugeFamily* g = registry.AddGauge("g", "h", {"v"}).value();
  g->WithLabels({"a\\b\"c\nd"})->Set(1);

  EXPECT_THAT(registry.Render(), HasSubstr("g{v=\"a\\\\b\\\"c\\nd\"} 1\n"));
}

TEST(MetricsTest, HelpEscapesBackslashAndNewline) {
  Registry registry;
  ASSERT_TRUE(registry.AddGauge("g", "line one\nback\\slash").ok());

  EXPECT_THAT(registry.Render(), HasSubstr("# HELP g line one\\nback\\\\slash\n"));
}

TEST(MetricsTest, GaugeSetThenAddRendersTheSum) {
  Registry registry;
  GaugeFamily* connected =
      registry.AddGauge("ferry_node_connected", "Agent stream up.", {"node"}).value();
  connected->WithLabels({"node-b"})->Set(1);
  connected->WithLabels({"node-a"})->Set(2);
  connected->WithLabels({"node-a"})->Add(-1.5);

  EXPECT_EQ(registry.Render(),
            "# HELP ferry_node_connected Agent stream up.\n"
            "# TYPE ferry_node_connected gauge\n"
            "ferry_node_connected{node=\"node-a\"} 0.5\n"
            "ferry_node_connected{node=\"node-b\"} 1\n");
}

TEST(MetricsTest, HistogramRendersCumulativeBucketsSumAndCount) {
  Registry registry;
  HistogramFamily* latency =
      registry.AddHistogram("ferry_apply_seconds", "Change to ACK.", {"node"}, {0.25, 1}).value();
  Histogram* h = latency->WithLabels({"node-a"});
  // Binary fractions, so the sum is exact. 0.25 lands in le="0.25".
  for (double v : {0.25, 0.125, 0.5, 4.0}) h->Observe(v);

  EXPECT_EQ(registry.Render(),
            "# HELP ferry_apply_seconds Change to ACK.\n"
            "# TYPE ferry_apply_seconds histogram\n"
            "ferry_apply_seconds_bucket{node=\"node-a\",le=\"0.25\"} 2\n"
            "ferry_apply_seconds_bucket{node=\"node-a\",le=\"1\"} 3\n"
            "ferry_apply_seconds_bucket{node=\"node-a\",le=\"+Inf\"} 4\n"
            "ferry_apply_seconds_sum{node=\"node-a\"} 4.875\n"
            "ferry_apply_seconds_count{node=\"node-a\"} 4\n");
}

TEST(MetricsTest, HistogramDefaultsToApplyLatencyBuckets) {
  Registry registry;
  registry.AddHistogram("h", "x", {}).value()->WithLabels({});

  std::string text = registry.Render();
  std::string expected_les;
  for (const char* le :
       {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}) {
    expected_les += std::string("h_bucket{le=\"") + le + "\"} 0\n";
  }
  EXPECT_THAT(text, HasSubstr(expected_les));
  EXPECT_THAT(text, HasSubstr("h_sum 0\nh_count 0\n"));
}

TEST(MetricsTest, FamiliesRenderSortedByName) {
  Registry registry;
  registry.AddGauge("zeta", "z").value()->WithLabels({})->Set(1);
  registry.AddCounter("alpha_total", "a").value()->WithLabels({});

  EXPECT_EQ(registry.Render(),
            "# HELP alpha_total a\n# TYPE alpha_total counter\nalpha_total 0\n"
            "# HELP zeta z\n# TYPE zeta gauge\nzeta 1\n");
}

TEST(MetricsTest, RejectsInvalidMetricNameNamingIt) {
  Registry registry;
  auto result = registry.AddCounter("bad-name", "h");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("metric name \"bad-name\""));
}

TEST(MetricsTest, RejectsInvalidLabelNameNamingIt) {
  Registry registry;
  auto result = registry.AddGauge("g", "h", {"ok", "no-dash"});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("label name \"no-dash\""));
}

TEST(MetricsTest, RejectsDuplicateName) {
  Registry registry;
  ASSERT_TRUE(registry.AddGauge("g", "h").ok());
  EXPECT_EQ(registry.AddCounter("g", "h").status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(MetricsTest, RejectsHistogramWithLeLabel) {
  Registry registry;
  auto result = registry.AddHistogram("h", "x", {"le"});
  EXPECT_THAT(result.status().message(), HasSubstr("\"le\""));
}

TEST(MetricsTest, RejectsBucketsThatDoNotIncrease) {
  Registry registry;
  auto result = registry.AddHistogram("h", "x", {}, {1, 0.5});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("bucket 1 is 0.5"));
}

TEST(MetricsTest, WrongLabelCountGivesAChildThatIsNeverRendered) {
  Registry registry;
  CounterFamily* c = registry.AddCounter("c_total", "h", {"node"}).value();
  Counter* detached = c->WithLabels({"a", "extra"});
  ASSERT_NE(detached, nullptr);
  detached->Increment();

  EXPECT_EQ(registry.Render(), "# HELP c_total h\n# TYPE c_total counter\n");
}

TEST(MetricsTest, RemovedChildIsNoLongerRendered) {
  Registry registry;
  GaugeFamily* g = registry.AddGauge("g", "h", {"node"}).value();
  g->WithLabels({"gone"})->Set(1);
  g->Remove({"gone"});

  EXPECT_EQ(registry.Render(), "# HELP g h\n# TYPE g gauge\n");
}

TEST(MetricsTest, CollectHookRunsBeforeEachRender) {
  Registry registry;
  Gauge* forwards = registry.AddGauge("forwards", "h").value()->WithLabels({});
  int calls = 0;
  registry.AddCollectHook([&] { forwards->Set(++calls * 10); });

  EXPECT_THAT(registry.Render(), HasSubstr("forwards 10\n"));
  EXPECT_THAT(registry.Render(), HasSubstr("forwards 20\n"));
}

TEST(MetricsTest, ConcurrentIncrementsAreAllCounted) {
  Registry registry;
  CounterFamily* family = registry.AddCounter("c_total", "h", {"t"}).value();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10000;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < kPerThread; ++j) {
        family->WithLabels({"x"})->Increment();
      }
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(family->WithLabels({"x"})->Value(), kThreads * kPerThread);
}

TEST(MetricsTest, FormatsSpecialAndFractionalValues) {
  EXPECT_EQ(FormatMetricValue(1), "1");
  EXPECT_EQ(FormatMetricValue(0.005), "0.005");
  constexpr double kInf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(FormatMetricValue(kInf), "+Inf");
  EXPECT_EQ(FormatMetricValue(-kInf), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

}  // namespace
}  // namespace ferry::observability
