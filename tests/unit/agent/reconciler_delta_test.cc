// Spec: Reconciler::ApplyDelta applies an incremental push on top of the
// applied version, touching only the named forwards' keys, and ends in
// exactly the state an Apply of the equivalent full config reaches; a full
// Apply after the first rebuilds only the forwards that changed.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/lib/sync_protocol.h"
#include "node-agent/reconcile/drift_checker.h"
#include "node-agent/reconcile/reconciler.h"
#include "tests/unit/agent/fake_kernel.h"
#include "tests/unit/agent/node_configs.h"

namespace ferry::agent {
namespace {

using testing::Config;
using testing::Delta;
using testing::Dnat;
using testing::FakeNatBackend;
using testing::FakeRouteBackend;
using testing::FakeSysctlBackend;
using ::testing::HasSubstr;
using testing::Ip;
using ::testing::IsEmpty;
using testing::Key;
using testing::Return;
using ::testing::SizeIs;
using ::testing::StartsWith;

// One agent: a reconciler over its own fake kernel.
struct Agent {
  Agent() {
    sysctls.values[kIpv4ForwardingKey] = "0\n";
    sysctls.values[kIpv6ForwardingKey] = "0\n";
  }
  FakeNatBackend nat;
  FakeRouteBackend routes;
  FakeSysctlBackend sysctls;
  Reconciler reconciler{&nat, &routes, &sysctls, Reconciler::Options{}};
  DriftChecker checker{&reconciler, &nat, &routes, &sysctls};
};

void ExpectSameIntent(const Intent& a, const Intent& b) {
  EXPECT_EQ(a.nat, b.nat);
  EXPECT_EQ(a.routes, b.routes);
  EXPECT_EQ(a.returns, b.returns);
  EXPECT_EQ(a.alert_forwards, b.alert_forwards);
  EXPECT_EQ(a.sysctls, b.sysctls);
}

class ReconcilerDeltaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(agent_.reconciler.Adopt().ok());
    ASSERT_TRUE(reference_.reconciler.Adopt().ok());
  }

  // Applies `base` to both agents, then `delta` to one and `target` (the
  // same change as a full config) to the other.
  void ApplyBoth(const ferry::v1::NodeConfig& base, const ferry::v1::NodeConfigDelta& delta,
                 const ferry::v1::NodeConfig& target) {
    ASSERT_TRUE(agent_.reconciler.Apply(base).ok());
    ASSERT_TRUE(reference_.reconciler.Apply(base).ok());
    ASSERT_TRUE(agent_.reconciler.ApplyDelta(delta).ok());
    ASSERT_TRUE(reference_.reconciler.Apply(target).ok());
  }

  void ExpectAgentsAgree() {
    ExpectSameIntent(agent_.reconciler.intent(), reference_.reconciler.intent());
    EXPECT_EQ(agent_.nat.state, reference_.nat.state);
    EXPECT_EQ(agent_.routes.Load()->rules, reference_.routes.Load()->rules);
    EXPECT_EQ(agent_.routes.Load()->routes, reference_.routes.Load()->routes);
    const Reconciler::Summary a = agent_.reconciler.summary();
    const Reconciler::Summary b = reference_.reconciler.summary();
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(a.dnat_elements, b.dnat_elements);
    EXPECT_EQ(a.masq_elements, b.masq_elements);
    EXPECT_EQ(a.rules, b.rules);
    EXPECT_EQ(a.routes, b.routes);
  }

  Agent agent_;
  Agent reference_;  // applies the equivalent full configs
};

TEST_F(ReconcilerDeltaTest, DeltaBeforeAnyConfigIsBaseVersionMismatch) {
  absl::Status status = agent_.reconciler.ApplyDelta(Delta("", "v1", {"web"}, {{"web", 80}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), StartsWith("base version mismatch"));
  EXPECT_THAT(agent_.nat.applied, IsEmpty());
}

TEST_F(ReconcilerDeltaTest, BaseVersionMismatchCarriesItsNackReason) {
  ASSERT_TRUE(agent_.reconciler.Apply(Config("v1", {{"web", 80}})).ok());
  absl::Status status = agent_.reconciler.ApplyDelta(Delta("v0", "v2", {"api"}, {{"api", 81}}));
  EXPECT_EQ(ferry::api::NackReasonOf(status), ferry::v1::NACK_REASON_BASE_VERSION_MISMATCH);
}

TEST_F(ReconcilerDeltaTest, DeltaOnAnotherBaseChangesNothing) {
  ASSERT_TRUE(agent_.reconciler.Apply(Config("v1", {{"web", 80}})).ok());
  agent_.nat.applied.clear();
  absl::Status status = agent_.reconciler.ApplyDelta(Delta("v0", "v2", {"api"}, {{"api", 81}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), StartsWith("base version mismatch"));
  EXPECT_THAT(status.message(), HasSubstr("\"v1\""));
  EXPECT_THAT(agent_.nat.applied, IsEmpty());
  EXPECT_EQ(agent_.reconciler.summary().version, "v1");
}

TEST_F(ReconcilerDeltaTest, OneForwardChangeWritesOnlyItsElementAndAdvancesTheVersion) {
  ASSERT_TRUE(agent_.reconciler.Apply(Config("v1", {{"a", 80}, {"b", 81}, {"c", 82}})).ok());
  agent_.nat.applied.clear();
  ASSERT_TRUE(agent_.reconciler.ApplyDelta(Delta("v1", "v2", {"b"}, {{"b", 81, "10.8.0.3"}})).ok());
  ASSERT_THAT(agent_.nat.applied, SizeIs(1));
  const NatPlan& plan = agent_.nat.applied[0];
  ASSERT_THAT(plan.dnat_add, SizeIs(1));
  EXPECT_EQ(plan.dnat_add[0].first, Key(81));
  EXPECT_EQ(plan.dnat_add[0].second.addr, Ip("10.8.0.3"));
  EXPECT_THAT(plan.dnat_delete, IsEmpty());
  EXPECT_EQ(agent_.reconciler.summary().version, "v2");
  EXPECT_EQ(agent_.nat.load_count, 1);  // the adopt only
}

TEST_F(ReconcilerDeltaTest, DeltaEqualsFullApplyWithSharedMasqueradeKeysAndRoutes) {
  // a and b masquerade the same backend port and return via the same hop;
  // a names the shared elements until it is removed.
  const ferry::v1::NodeConfig base = Config(
      "v1", {{"a", 80, "10.8.0.2", 8080, true}, {"b", 81, "10.8.0.2", 8080, true}, {"c", 82}},
      {{"a", 8080}, {"b", 8080}, {"c", 9090, "10.8.0.9"}});
  const ferry::v1::NodeConfig target = Config(
      "v2", {{"b", 81, "10.8.0.2", 8080, true}, {"c", 83}, {"d", 84, "10.8.0.2", 8080, true}},
      {{"b", 8080}, {"c", 9090, "10.8.0.7"}, {"d", 8080}});
  const ferry::v1::NodeConfigDelta delta =
      Delta("v1", "v2", {"a", "c", "d"}, {{"c", 83}, {"d", 84, "10.8.0.2", 8080, true}},
            {{"c", 9090, "10.8.0.7"}, {"d", 8080}});
  ApplyBoth(base, delta, target);
  ExpectAgentsAgree();
  const Intent intent = agent_.reconciler.intent();
  ASSERT_THAT(intent.nat.masq, SizeIs(1));
  EXPECT_EQ(intent.nat.masq.begin()->second, "ipforward/b");
}

TEST_F(ReconcilerDeltaTest, DeltaEqualsFullApplyForAlertForwards) {
  const ferry::v1::NodeConfig base =
      Config("v1", {{"a", 80}, {"b", 81, "10.8.0.2", 8080, false, true}}, {{"b", 8080}});
  // a turns Alert, b turns Enforce and moves, e arrives as Alert.
  const ferry::v1::NodeConfig target = Config(
      "v2",
      {{"a", 80, "10.8.0.2", 8080, false, true}, {"b", 85}, {"e", 86, "10.8.0.4", 80, false, true}},
      {{"b", 8080}, {"e", 80, "10.8.0.1", true}});
  const ferry::v1::NodeConfigDelta delta = Delta(
      "v1", "v2", {"a", "b", "e"},
      {{"a", 80, "10.8.0.2", 8080, false, true}, {"b", 85}, {"e", 86, "10.8.0.4", 80, false, true}},
      {{"b", 8080}, {"e", 80, "10.8.0.1", true}});
  ApplyBoth(base, delta, target);
  ExpectAgentsAgree();
  EXPECT_EQ(agent_.reconciler.intent().alert_forwards, (std::set<std::string>{"a", "e"}));
}

TEST_F(ReconcilerDeltaTest, AlertDriftOfAnUnchangedKeyIsLeftAsFoundByADelta) {
  const ferry::v1::NodeConfig base = Config(
      "v1", {{"a", 80, "10.8.0.2", 8080, false, true}, {"a", 81, "10.8.0.2", 8080, false, true}});
  ASSERT_TRUE(agent_.reconciler.Apply(base).ok());
  agent_.nat.state.dnat.erase(Key(80));  // someone deletes an Alert element
  ASSERT_TRUE(agent_.checker.Check(DriftCheck{}).checked);
  // a changes port 81 only: 80 stays as found (missing), as a full push would leave it.
  ASSERT_TRUE(agent_.reconciler
                  .ApplyDelta(Delta("v1", "v2", {"a"},
                                    {{"a", 80, "10.8.0.2", 8080, false, true},
                                     {"a", 81, "10.8.0.5", 8080, false, true}}))
                  .ok());
  EXPECT_FALSE(agent_.nat.state.dnat.contains(Key(80)));
  EXPECT_EQ(agent_.nat.state.dnat.at(Key(81)).addr, Ip("10.8.0.5"));
  EXPECT_TRUE(agent_.reconciler.intent().nat.dnat.contains(Key(80)));
}

TEST_F(ReconcilerDeltaTest, FullApplyAfterTheFirstRebuildsOnlyChangedForwards) {
  ASSERT_TRUE(agent_.reconciler.Apply(Config("v1", {{"a", 80}, {"b", 81}})).ok());
  agent_.nat.applied.clear();
  ferry::v1::NodeConfig next = Config("v2", {{"a", 80}, {"b", 81}});
  next.mutable_dnat(1)->set_generation(2);  // same content, new generation
  next.mutable_dnat(1)->set_target_port(9090);
  ASSERT_TRUE(agent_.reconciler.Apply(next).ok());
  ASSERT_THAT(agent_.nat.applied, SizeIs(1));
  ASSERT_THAT(agent_.nat.applied[0].dnat_add, SizeIs(1));
  EXPECT_EQ(agent_.nat.applied[0].dnat_add[0].first, Key(81));
  EXPECT_EQ(agent_.reconciler.summary().version, "v2");
}

TEST_F(ReconcilerDeltaTest, FullApplyOfTheSameConfigWritesNothing) {
  const ferry::v1::NodeConfig config = Config("v1", {{"a", 80}}, {{"a", 8080}});
  ASSERT_TRUE(agent_.reconciler.Apply(config).ok());
  agent_.nat.applied.clear();
  agent_.routes.applied.clear();
  ASSERT_TRUE(agent_.reconciler.Apply(config).ok());
  EXPECT_THAT(agent_.nat.applied, IsEmpty());
  EXPECT_THAT(agent_.routes.applied, IsEmpty());
}

TEST_F(ReconcilerDeltaTest, RemovedForwardInAFullConfigIsDeleted) {
  ASSERT_TRUE(agent_.reconciler.Apply(Config("v1", {{"a", 80}, {"b", 81}})).ok());
  ASSERT_TRUE(agent_.reconciler.Apply(Config("v2", {{"a", 80}})).ok());
  EXPECT_FALSE(agent_.nat.state.dnat.contains(Key(81)));
  EXPECT_TRUE(agent_.nat.state.dnat.contains(Key(80)));
}

TEST_F(ReconcilerDeltaTest, NatFailureKeepsThePreviousStateAndTheRetrySucceeds) {
  ASSERT_TRUE(agent_.reconciler.Apply(Config("v1", {{"a", 80}})).ok());
  const Intent before = agent_.reconciler.intent();
  agent_.nat.apply_error = absl::InternalError("netlink batch rejected");
  const ferry::v1::NodeConfigDelta delta = Delta("v1", "v2", {"b"}, {{"b", 81}});
  EXPECT_THAT(agent_.reconciler.ApplyDelta(delta).message(), HasSubstr("netlink batch rejected"));
  EXPECT_EQ(agent_.reconciler.summary().version, "v1");
  ExpectSameIntent(agent_.reconciler.intent(), before);

  agent_.nat.apply_error = absl::OkStatus();
  ASSERT_TRUE(agent_.reconciler.ApplyDelta(delta).ok());
  EXPECT_TRUE(agent_.nat.state.dnat.contains(Key(81)));
  EXPECT_EQ(agent_.reconciler.summary().version, "v2");
}

TEST_F(ReconcilerDeltaTest, InvalidDeltaEntryNamesForwardAndFieldAndTouchesNothing) {
  ASSERT_TRUE(agent_.reconciler.Apply(Config("v1", {{"a", 80}})).ok());
  agent_.nat.applied.clear();
  absl::Status status =
      agent_.reconciler.ApplyDelta(Delta("v1", "v2", {"b"}, {{"b", 81, "bogus"}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("forward \"b\": dnat[0].backend_address"));
  EXPECT_THAT(agent_.nat.applied, IsEmpty());
  EXPECT_EQ(agent_.reconciler.summary().version, "v1");
}

TEST_F(ReconcilerDeltaTest, EntryOfAForwardTheDeltaDoesNotNameIsRejected) {
  ASSERT_TRUE(agent_.reconciler.Apply(Config("v1", {{"a", 80}})).ok());
  absl::Status status = agent_.reconciler.ApplyDelta(Delta("v1", "v2", {"b"}, {{"c", 81}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("dnat[0].forward: \"c\""));
}

TEST_F(ReconcilerDeltaTest, PortTakenByAnotherForwardIsRejectedNamingItsOwner) {
  ASSERT_TRUE(agent_.reconciler.Apply(Config("v1", {{"a", 80}})).ok());
  absl::Status status =
      agent_.reconciler.ApplyDelta(Delta("v1", "v2", {"b"}, {{"b", 80, "10.8.0.9"}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("forward \"b\": dnat[0].port"));
  EXPECT_THAT(status.message(), HasSubstr("already forwarded by ipforward/a"));
}

TEST_F(ReconcilerDeltaTest, DeltaAfterAPushThatCouldNotBeRolledBackIsBaseVersionMismatch) {
  ASSERT_TRUE(agent_.reconciler.Apply(Config("v1", {{"a", 80}})).ok());
  const ferry::v1::NodeConfig v2 = Config("v2", {{"a", 80}, {"b", 81}}, {{"a", 8080}});
  agent_.routes.fail_after_messages = 0;
  // The push's own batch commits; the one that would take it back fails.
  agent_.nat.apply_error = absl::InternalError("netlink batch rejected");
  agent_.nat.apply_error_after = agent_.nat.applied.size() + 1;
  absl::Status failed = agent_.reconciler.Apply(v2);
  EXPECT_THAT(failed.message(), HasSubstr("state is partial"));
  agent_.routes.fail_after_messages.reset();
  agent_.nat.apply_error = absl::OkStatus();

  absl::Status status = agent_.reconciler.ApplyDelta(Delta("v1", "v3", {"c"}, {{"c", 82}}));
  EXPECT_THAT(std::string(status.message()), StartsWith("base version mismatch"));
  // The full config that follows repairs the routes the failed push left out.
  ASSERT_TRUE(agent_.reconciler.Apply(v2).ok());
  EXPECT_THAT(agent_.routes.state.rules, SizeIs(1));
  EXPECT_EQ(agent_.reconciler.summary().version, "v2");
}

TEST_F(ReconcilerDeltaTest, DeltaOverADeletedTableRebuildsItWhole) {
  ASSERT_TRUE(agent_.reconciler.Apply(Config("v1", {{"a", 80}, {"b", 81}})).ok());
  agent_.nat.state = NatState{};                            // table deleted behind Ferry's back
  ASSERT_TRUE(agent_.checker.Check(DriftCheck{}).checked);  // repairs it (Enforce)
  agent_.nat.state = NatState{};                            // and deleted again, not yet noticed
  ASSERT_TRUE(agent_.reconciler.ApplyDelta(Delta("v1", "v2", {"c"}, {{"c", 82}})).ok());
  EXPECT_EQ(agent_.nat.state.dnat.size(), 3u);
}

}  // namespace
}  // namespace ferry::agent
