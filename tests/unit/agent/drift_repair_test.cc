// Spec: DriftChecker::Check compares the kernel with what it committed,
// repairs Enforce drift, leaves Alert drift in place without a single
// kernel write, and never takes its own writes for drift.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "node-agent/reconcile/drift_checker.h"
#include "node-agent/reconcile/reconciler.h"
#include "tests/unit/agent/fake_kernel.h"

namespace ferry::agent {
namespace {

using ::testing::Each;
using testing::FakeNatBackend;
using testing::FakeRouteBackend;
using testing::FakeSysctlBackend;
using ::testing::IsEmpty;
using ::testing::SizeIs;

IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }
DnatKey Key(uint16_t port) { return DnatKey{Ip("203.0.113.1"), kProtoTcp, port}; }

ferry::v1::NodeConfig Config(bool alert) {
  ferry::v1::NodeConfig config;
  config.set_version("v1");
  config.set_ipv4_forwarding(true);
  ferry::v1::DnatRule* rule = config.add_dnat();
  rule->set_forward("web");
  rule->set_frontend_address("203.0.113.1");
  rule->set_protocol(ferry::v1::TCP);
  rule->set_port(80);
  rule->set_backend_address("10.8.0.2");
  rule->set_alert_only(alert);
  ferry::v1::ReturnRoute* route = config.add_return_routes();
  route->set_forward("web");
  route->set_source_address("10.8.0.2");
  route->set_protocol(ferry::v1::TCP);
  route->set_port(80);
  route->set_via("10.8.0.1");
  route->set_alert_only(alert);
  return config;
}

class DriftRepairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sysctls_.values[kIpv4ForwardingKey] = "0\n";
    sysctls_.values[kIpv6ForwardingKey] = "0\n";
    ASSERT_TRUE(reconciler_.Adopt().ok());
  }

  void ApplyAndForgetWrites(bool alert) {
    ASSERT_TRUE(reconciler_.Apply(Config(alert)).ok());
    nat_.applied.clear();
    routes_.applied.clear();
    sysctls_.writes.clear();
  }

  int KernelWrites() const {
    return nat_.applied.size() + routes_.applied.size() + sysctls_.writes.size();
  }

  FakeNatBackend nat_;
  FakeRouteBackend routes_;
  FakeSysctlBackend sysctls_;
  Reconciler reconciler_{&nat_, &routes_, &sysctls_, Reconciler::Options{}};
  DriftChecker checker_{&reconciler_, &nat_, &routes_, &sysctls_};
};

TEST_F(DriftRepairTest, NoCheckBeforeTheFirstConfig) {
  EXPECT_FALSE(checker_.Check(DriftCheck{}).checked);
}

TEST_F(DriftRepairTest, OwnWritesAreNotDrift) {
  ApplyAndForgetWrites(/*alert=*/false);
  DriftOutcome outcome = checker_.Check(DriftCheck{});
  EXPECT_TRUE(outcome.checked);
  EXPECT_THAT(outcome.items, IsEmpty());
  EXPECT_TRUE(outcome.in_sync);
  EXPECT_EQ(KernelWrites(), 0);
}

TEST_F(DriftRepairTest, EnforceRestoresADeletedElement) {
  ApplyAndForgetWrites(/*alert=*/false);
  nat_.state.dnat.erase(Key(80));
  DriftOutcome outcome = checker_.Check(DriftCheck{});
  ASSERT_THAT(outcome.items, SizeIs(1));
  EXPECT_THAT(outcome.repaired, Each(true));
  EXPECT_TRUE(outcome.in_sync);
  EXPECT_TRUE(nat_.state.dnat.contains(Key(80)));
}

TEST_F(DriftRepairTest, EnforceRecreatesAFlushedTableWithItsElements) {
  ApplyAndForgetWrites(/*alert=*/false);
  nat_.state = NatState{};
  checker_.Check(DriftCheck{});
  ASSERT_THAT(nat_.applied, SizeIs(1));
  EXPECT_TRUE(nat_.applied[0].create_table);
  EXPECT_TRUE(nat_.state.dnat.contains(Key(80)));
}

TEST_F(DriftRepairTest, EnforceRestoresRuleRouteAndSysctl) {
  ApplyAndForgetWrites(/*alert=*/false);
  const RouteState committed = routes_.state;
  routes_.state = RouteState{};
  sysctls_.values[kIpv4ForwardingKey] = "0\n";
  DriftOutcome outcome = checker_.Check(DriftCheck{});
  EXPECT_THAT(outcome.items, SizeIs(3));
  EXPECT_TRUE(outcome.in_sync);
  EXPECT_EQ(routes_.Load()->rules, committed.rules);
  EXPECT_EQ(routes_.Load()->routes, committed.routes);
  EXPECT_EQ(sysctls_.values[kIpv4ForwardingKey], "1\n");
}

TEST_F(DriftRepairTest, AlertReportsAndWritesNothing) {
  ApplyAndForgetWrites(/*alert=*/true);
  nat_.state.dnat.erase(Key(80));
  routes_.state = RouteState{};
  DriftOutcome outcome = checker_.Check(DriftCheck{});
  EXPECT_THAT(outcome.items, SizeIs(3));
  EXPECT_THAT(outcome.repaired, Each(false));
  EXPECT_FALSE(outcome.in_sync);
  EXPECT_EQ(KernelWrites(), 0);
}

TEST_F(DriftRepairTest, AlertDriftIsReportedAgainByTheNextCheck) {
  ApplyAndForgetWrites(/*alert=*/true);
  nat_.state.dnat.erase(Key(80));
  checker_.Check(DriftCheck{});
  EXPECT_THAT(checker_.Check(DriftCheck{.nat = false}).items, SizeIs(1));
}

TEST_F(DriftRepairTest, ReapplyingTheSameConfigDoesNotRepairAlertDrift) {
  ApplyAndForgetWrites(/*alert=*/true);
  nat_.state.dnat.erase(Key(80));
  checker_.Check(DriftCheck{});
  ASSERT_TRUE(reconciler_.Apply(Config(/*alert=*/true)).ok());
  EXPECT_EQ(KernelWrites(), 0);
}

TEST_F(DriftRepairTest, SysctlOnlyCheckReadsNoTables) {
  ApplyAndForgetWrites(/*alert=*/false);
  const int nat_loads = nat_.load_count;
  const int route_loads = routes_.load_count;
  checker_.Check(DriftCheck{.nat = false, .routes = false});
  EXPECT_EQ(nat_.load_count, nat_loads);
  EXPECT_EQ(routes_.load_count, route_loads);
}

TEST_F(DriftRepairTest, FailedReadIsAnErrorNotDrift) {
  ApplyAndForgetWrites(/*alert=*/false);
  nat_.load_error = absl::UnavailableError("dump interrupted");
  DriftOutcome outcome = checker_.Check(DriftCheck{});
  EXPECT_FALSE(outcome.error.ok());
  EXPECT_THAT(outcome.items, IsEmpty());
}

}  // namespace
}  // namespace ferry::agent
