// Spec: the reconciler changes only the difference from what it committed,
// keeps the last good state on failure, and restores only what it changed.

#include "node-agent/reconcile/reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/agent/fake_kernel.h"

namespace ferry::agent {
namespace {

using ::testing::ElementsAre;
using testing::FakeNatBackend;
using testing::FakeRouteBackend;
using testing::FakeSysctlBackend;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }

void AddDnat(ferry::v1::NodeConfig& config, absl::string_view forward, uint32_t port) {
  ferry::v1::DnatRule* rule = config.add_dnat();
  rule->set_forward(std::string(forward));
  rule->set_frontend_address("203.0.113.1");
  rule->set_protocol(ferry::v1::TCP);
  rule->set_port(port);
  rule->set_backend_address("10.8.0.2");
  rule->set_target_port(port);
}

void AddReturn(ferry::v1::NodeConfig& config, uint32_t port, absl::string_view via) {
  ferry::v1::ReturnRoute* route = config.add_return_routes();
  route->set_forward("web");
  route->set_source_address("10.8.0.2");
  route->set_protocol(ferry::v1::TCP);
  route->set_port(port);
  route->set_via(std::string(via));
}

DnatKey Key(uint16_t port) { return DnatKey{Ip("203.0.113.1"), kProtoTcp, port}; }

class ReconcilerTest : public ::testing::Test {
 protected:
  ReconcilerTest() {
    sysctls_.values[kIpv4ForwardingKey] = "0\n";
    sysctls_.values[kIpv6ForwardingKey] = "0\n";
  }

  Reconciler& reconciler() { return reconciler_; }

  FakeNatBackend nat_;
  FakeRouteBackend routes_;
  FakeSysctlBackend sysctls_;
  Reconciler reconciler_{&nat_, &routes_, &sysctls_, Reconciler::Options{}};
};

TEST_F(ReconcilerTest, ApplyBeforeAdoptFails) {
  EXPECT_EQ(reconciler_.Apply(ferry::v1::NodeConfig()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ReconcilerTest, FirstApplyCreatesTableAndElements) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ferry::v1::NodeConfig config;
  AddDnat(config, "web", 80);
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  ASSERT_EQ(nat_.applied.size(), 1u);
  EXPECT_TRUE(nat_.applied[0].create_table);
  EXPECT_TRUE(nat_.state.dnat.contains(Key(80)));
}

TEST_F(ReconcilerTest, AdoptedStateIsChangedOnlyByTheDifference) {
  nat_.state.table_present = true;
  nat_.state.dnat[Key(80)] = DnatTarget{Ip("10.8.0.2"), 80, "ipforward/web"};
  nat_.state.dnat[Key(81)] = DnatTarget{Ip("10.8.0.2"), 81, "ipforward/old"};
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ferry::v1::NodeConfig config;
  AddDnat(config, "web", 80);
  AddDnat(config, "new", 82);
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  ASSERT_EQ(nat_.applied.size(), 1u);
  const NatPlan& plan = nat_.applied[0];
  EXPECT_FALSE(plan.create_table);
  ASSERT_EQ(plan.dnat_add.size(), 1u);
  EXPECT_EQ(plan.dnat_add[0].first, Key(82));
  EXPECT_THAT(plan.dnat_delete, ElementsAre(Key(81)));
}

TEST_F(ReconcilerTest, RestartAdoptingExistingStateChangesNothing) {
  ferry::v1::NodeConfig config;
  AddDnat(config, "web", 80);
  AddReturn(config, 80, "10.8.0.1");
  {
    Reconciler first(&nat_, &routes_, &sysctls_, Reconciler::Options{});
    ASSERT_TRUE(first.Adopt().ok());
    ASSERT_TRUE(first.Apply(config).ok());
  }
  nat_.applied.clear();
  routes_.applied.clear();
  Reconciler second(&nat_, &routes_, &sysctls_, Reconciler::Options{});
  ASSERT_TRUE(second.Adopt().ok());
  ASSERT_TRUE(second.Apply(config).ok());
  EXPECT_THAT(nat_.applied, IsEmpty());
  EXPECT_THAT(routes_.applied, IsEmpty());
}

TEST_F(ReconcilerTest, SecondApplyDiffsAgainstCommittedWithoutReload) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ferry::v1::NodeConfig config;
  AddDnat(config, "web", 80);
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  AddDnat(config, "web", 81);
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  EXPECT_EQ(nat_.load_count, 1);
  EXPECT_EQ(routes_.load_count, 1);
  ASSERT_EQ(nat_.applied.size(), 2u);
  ASSERT_EQ(nat_.applied[1].dnat_add.size(), 1u);
  EXPECT_EQ(nat_.applied[1].dnat_add[0].first, Key(81));
}

TEST_F(ReconcilerTest, NatFailureKeepsPreviousCommittedState) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ferry::v1::NodeConfig v1;
  v1.set_version("v1");
  AddDnat(v1, "web", 80);
  ASSERT_TRUE(reconciler_.Apply(v1).ok());

  ferry::v1::NodeConfig v2 = v1;
  v2.set_version("v2");
  AddDnat(v2, "web", 81);
  nat_.apply_error = absl::InternalError("netlink batch rejected");
  absl::Status status = reconciler_.Apply(v2);
  EXPECT_THAT(status.message(), HasSubstr("netlink batch rejected"));
  EXPECT_EQ(reconciler_.summary().version, "v1");

  // The retry is diffed against v1 (what the kernel holds), so it adds 81.
  nat_.apply_error = absl::OkStatus();
  ASSERT_TRUE(reconciler_.Apply(v2).ok());
  ASSERT_EQ(nat_.applied.back().dnat_add.size(), 1u);
  EXPECT_EQ(nat_.applied.back().dnat_add[0].first, Key(81));
  EXPECT_EQ(reconciler_.summary().version, "v2");
}

TEST_F(ReconcilerTest, InvalidConfigTouchesNothing) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ferry::v1::NodeConfig config;
  AddDnat(config, "web", 80);
  config.mutable_dnat(0)->set_backend_address("bogus");
  absl::Status status = reconciler_.Apply(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(nat_.applied, IsEmpty());
}

TEST_F(ReconcilerTest, RouteFailureTakesBackWhatLandedAndTheRetryAppliesEverything) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ferry::v1::NodeConfig config;
  AddReturn(config, 80, "10.8.0.1");
  AddReturn(config, 443, "10.8.0.1");
  routes_.fail_after_messages = 2;  // route and first rule land
  absl::Status status = reconciler_.Apply(config);
  EXPECT_THAT(status.message(), HasSubstr("injected failure"));
  EXPECT_EQ(routes_.load_count, 2);  // re-read to learn what landed
  EXPECT_THAT(routes_.state.rules, IsEmpty());
  EXPECT_THAT(routes_.state.routes, IsEmpty());

  routes_.fail_after_messages.reset();
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  const RoutePlan& retry = routes_.applied.back();
  EXPECT_EQ(retry.routes_add.size(), 1u);
  EXPECT_EQ(retry.rules_add.size(), 2u);
  EXPECT_EQ(routes_.state.rules.size(), 2u);
}

// Two frontends share backend port 8080, each through its own tunnel.
ferry::v1::NodeConfig TwoFrontends() {
  ferry::v1::NodeConfig config;
  AddReturn(config, 8080, "10.8.0.1");
  config.mutable_return_routes(0)->set_in_interface("wg-a");
  AddReturn(config, 8080, "10.78.0.1");
  config.mutable_return_routes(1)->set_forward("web-c");
  config.mutable_return_routes(1)->set_in_interface("wg-c");
  return config;
}

TEST_F(ReconcilerTest, SharedBackendPortGetsAMarkPerTunnelBeforeTheRulesThatMatchThem) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ASSERT_TRUE(reconciler_.Apply(TwoFrontends()).ok());
  EXPECT_EQ(routes_.state.marks,
            (std::map<std::string, uint32_t>{{"wg-a", 0x01000000}, {"wg-c", 0x02000000}}));
  ASSERT_EQ(routes_.state.rules.size(), 2u);
  EXPECT_NE(routes_.state.rules[0].fwmark, routes_.state.rules[1].fwmark);
  ASSERT_EQ(routes_.applied.size(), 1u);
  EXPECT_TRUE(routes_.applied[0].marks.has_value());

  // The same config again changes nothing; dropping one frontend rebuilds
  // the marks without it and keeps the other's mark.
  ASSERT_TRUE(reconciler_.Apply(TwoFrontends()).ok());
  EXPECT_EQ(routes_.applied.size(), 1u);
  ferry::v1::NodeConfig one = TwoFrontends();
  one.mutable_return_routes()->RemoveLast();
  ASSERT_TRUE(reconciler_.Apply(one).ok());
  EXPECT_EQ(routes_.state.marks, (std::map<std::string, uint32_t>{{"wg-a", 0x01000000}}));
  EXPECT_EQ(routes_.state.rules.size(), 1u);
}

TEST_F(ReconcilerTest, MarkFailureIsRolledBackWithTheRules) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ferry::v1::NodeConfig config = TwoFrontends();
  routes_.fail_after_messages = 2;  // the marks and the first route land
  EXPECT_THAT(reconciler_.Apply(config).message(), HasSubstr("rolled back"));
  EXPECT_THAT(routes_.state.marks, IsEmpty());
  EXPECT_THAT(routes_.state.rules, IsEmpty());
  routes_.fail_after_messages.reset();
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  EXPECT_EQ(routes_.state.marks.size(), 2u);
}

TEST_F(ReconcilerTest, ForwardingSysctlIsSetWhenWanted) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ferry::v1::NodeConfig config;
  config.set_ipv4_forwarding(true);
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  EXPECT_THAT(sysctls_.writes, ElementsAre(Pair(kIpv4ForwardingKey, "1")));
}

TEST_F(ReconcilerTest, ForwardingSysctlIsRestoredWhenNoLongerWanted) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ferry::v1::NodeConfig config;
  config.set_ipv6_forwarding(true);
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  config.set_ipv6_forwarding(false);
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  EXPECT_THAT(sysctls_.writes,
              ElementsAre(Pair(kIpv6ForwardingKey, "1"), Pair(kIpv6ForwardingKey, "0")));
}

TEST_F(ReconcilerTest, ForwardingAlreadyOnIsNeitherWrittenNorRestored) {
  sysctls_.values[kIpv4ForwardingKey] = "1\n";
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ferry::v1::NodeConfig config;
  config.set_ipv4_forwarding(true);
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  config.set_ipv4_forwarding(false);
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  EXPECT_THAT(sysctls_.writes, IsEmpty());
}

TEST_F(ReconcilerTest, SysctlFailureIsReportedAndVersionNotAdvanced) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ferry::v1::NodeConfig config;
  config.set_version("v1");
  config.set_ipv4_forwarding(true);
  sysctls_.write_error = absl::PermissionDeniedError("read-only /proc/sys");
  absl::Status status = reconciler_.Apply(config);
  EXPECT_THAT(status.message(), HasSubstr("net/ipv4/ip_forward"));
  EXPECT_EQ(reconciler_.summary().version, "");
}

TEST_F(ReconcilerTest, AdoptFailureIsReported) {
  nat_.load_error = absl::PermissionDeniedError("Operation not permitted");
  absl::Status status = reconciler_.Adopt();
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr("inet ferry"));
}

}  // namespace
}  // namespace ferry::agent
