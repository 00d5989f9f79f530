// Spec: the agent's metrics count applies, NACKs and drift by kind, name the
// config the kernel holds, and readiness needs a config and a stream.

#include "node-agent/cmd/agent_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<AgentMetrics> Make(observability::Registry& registry) {
  absl::StatusOr<std::unique_ptr<AgentMetrics>> metrics = AgentMetrics::Create(&registry);
  EXPECT_TRUE(metrics.ok()) << metrics.status();
  return *std::move(metrics);
}

TEST(AgentMetricsTest, EverySeriesTheDashboardQueriesExistsAtZero) {
  observability::Registry registry;
  std::unique_ptr<AgentMetrics> metrics = Make(registry);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("ferry_agent_applies_total{kind=\"full\",result=\"nack\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ferry_agent_apply_seconds_count{kind=\"delta\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ferry_agent_connected 0\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE ferry_agent_drift_items_total counter\n"));
}

TEST(AgentMetricsTest, AppliesAreCountedByKindAndResultAndNameTheHeldVersion) {
  observability::Registry registry;
  std::unique_ptr<AgentMetrics> metrics = Make(registry);
  metrics->Applied(AgentMetrics::ApplyKind::kFull, absl::OkStatus(), absl::Milliseconds(3), "v1");
  metrics->Applied(AgentMetrics::ApplyKind::kDelta, absl::OkStatus(), absl::Milliseconds(1), "v2");
  metrics->Applied(AgentMetrics::ApplyKind::kDelta, absl::InternalError("netlink"),
                   absl::Milliseconds(1), "v3");
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("ferry_agent_applies_total{kind=\"full\",result=\"ok\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ferry_agent_applies_total{kind=\"delta\",result=\"ok\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ferry_agent_applies_total{kind=\"delta\",result=\"nack\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ferry_agent_apply_seconds_count{kind=\"delta\"} 2\n"));
  // Only the version the kernel holds: v2 replaced v1, the NACKed v3 never came.
  EXPECT_THAT(text, HasSubstr("ferry_agent_applied_config_info{version=\"v2\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("version=\"v1\"")));
  EXPECT_THAT(text, Not(HasSubstr("version=\"v3\"")));
}

TEST(AgentMetricsTest, DriftItemsAndRepairsAreCountedByKind) {
  observability::Registry registry;
  std::unique_ptr<AgentMetrics> metrics = Make(registry);
  DriftOutcome outcome;
  outcome.checked = true;
  outcome.items = {Drift{"web", "map dnat4 element", "nftables", "x", "", true},
                   Drift{"web", "rule", "rule", "y", "", false},
                   Drift{"", "net.ipv4.ip_forward", "sysctl", "1", "0", true}};
  outcome.repaired = {true, false, true};
  metrics->DriftChecked(outcome);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("ferry_agent_drift_items_total{kind=\"nftables\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ferry_agent_drift_items_total{kind=\"rule\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ferry_agent_drift_repairs_total{kind=\"sysctl\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("ferry_agent_drift_repairs_total{kind=\"rule\"}")));
}

TEST(AgentMetricsTest, ReadyNeedsAConfigAndAStream) {
  observability::Registry registry;
  std::unique_ptr<AgentMetrics> metrics = Make(registry);
  EXPECT_FALSE(metrics->Ready());
  metrics->SetConnected(true);
  EXPECT_FALSE(metrics->Ready());  // nothing adopted or applied yet
  metrics->Adopted();
  EXPECT_TRUE(metrics->Ready());
  metrics->SetConnected(false);
  EXPECT_FALSE(metrics->Ready());
  EXPECT_THAT(registry.Render(), HasSubstr("ferry_agent_connected 0\n"));
}

}  // namespace
}  // namespace ferry::agent
