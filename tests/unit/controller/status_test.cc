#include "controller/planner/status.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);
const absl::Time kT1 = kT0 + absl::Minutes(5);

// node-a DNATs it to node-b, which routes the replies back (Preserve).
ferry::v1::IPForward Forward(int64_t generation) {
  ferry::v1::IPForward f;
  f.mutable_metadata()->set_name("web");
  f.mutable_metadata()->set_generation(generation);
  f.mutable_spec()->mutable_frontend()->set_node_name("node-a");
  f.mutable_spec()->mutable_frontend()->set_address("192.0.2.1");
  f.mutable_spec()->mutable_backend()->set_node_name("node-b");
  f.mutable_spec()->mutable_backend()->set_address("10.8.0.2");
  f.mutable_spec()->set_source_ip(ferry::v1::PRESERVE);
  return f;
}

ForwardResolution Accepted() {
  ForwardResolution r;
  r.accepted = true;
  r.reason = kReasonAccepted;
  r.return_via = "10.8.0.1";
  return r;
}

const ferry::v1::Condition& Find(const ferry::v1::IPForwardStatus& s, const std::string& type) {
  for (const auto& c : s.conditions()) {
    if (c.type() == type) return c;
  }
  ADD_FAILURE() << "no condition " << type;
  return ferry::v1::Condition::default_instance();
}

NodeAckInfo Acked(int64_t generation) {
  NodeAckInfo a;
  a.acked_generation = generation;
  return a;
}

TEST(StatusTest, ReadyWhenEveryInvolvedNodeAppliedCurrentGeneration) {
  auto s =
      ComputeStatus(Forward(3), Accepted(), {{"node-a", Acked(3)}, {"node-b", Acked(3)}}, kT0, {});
  EXPECT_EQ(s.observed_generation(), 3);
  EXPECT_EQ(Find(s, kConditionAccepted).status(), "True");
  EXPECT_EQ(Find(s, kConditionReady).status(), "True");
  EXPECT_EQ(Find(s, kConditionReady).observed_generation(), 3);
  ASSERT_EQ(s.nodes_size(), 2);
  EXPECT_EQ(s.nodes(0).name(), "node-a");
  EXPECT_EQ(s.nodes(0).role(), kRoleFrontend);
  EXPECT_EQ(s.nodes(0).state(), kStateApplied);
  EXPECT_EQ(s.nodes(0).address(), "192.0.2.1");
  EXPECT_EQ(s.nodes(1).name(), "node-b");
  EXPECT_EQ(s.nodes(1).role(), kRoleBackend);
  EXPECT_EQ(s.nodes(1).applied_generation(), 3);
  EXPECT_EQ(s.return_via(), "10.8.0.1");
}

TEST(StatusTest, PendingWhileANodeStillHasAnOlderGeneration) {
  auto s =
      ComputeStatus(Forward(3), Accepted(), {{"node-a", Acked(3)}, {"node-b", Acked(2)}}, kT0, {});
  const auto& ready = Find(s, kConditionReady);
  EXPECT_EQ(ready.status(), "False");
  EXPECT_EQ(ready.reason(), kReasonPending);
  EXPECT_THAT(ready.message(), HasSubstr("node-b"));
  EXPECT_EQ(s.nodes(1).state(), kStatePending);
  EXPECT_EQ(s.nodes(1).applied_generation(), 2);
}

TEST(StatusTest, PendingForNodeWithoutAnyReport) {
  auto s = ComputeStatus(Forward(1), Accepted(), {{"node-a", Acked(1)}}, kT0, {});
  EXPECT_EQ(Find(s, kConditionReady).reason(), kReasonPending);
  EXPECT_EQ(s.nodes(1).state(), kStatePending);
  EXPECT_EQ(s.nodes(1).applied_generation(), 0);
}

TEST(StatusTest, NackMakesNodeFailedAndReadyApplyFailedWithTheError) {
  NodeAckInfo nack = Acked(1);
  nack.nacked = true;
  nack.error = "nft: table inet ferry: busy";
  auto s = ComputeStatus(Forward(2), Accepted(), {{"node-a", nack}, {"node-b", Acked(2)}}, kT0, {});
  const auto& ready = Find(s, kConditionReady);
  EXPECT_EQ(ready.status(), "False");
  EXPECT_EQ(ready.reason(), kReasonApplyFailed);
  EXPECT_THAT(ready.message(), HasSubstr("node node-a"));
  EXPECT_THAT(ready.message(), HasSubstr("busy"));
  EXPECT_EQ(s.nodes(0).state(), kStateFailed);
  EXPECT_EQ(s.nodes(0).message(), "nft: table inet ferry: busy");
}

TEST(StatusTest, RejectedForwardIsNotAcceptedAndNotReady) {
  ForwardResolution r;
  r.reason = kReasonAddressNotOnNode;
  r.MutableExtra().message = "spec.frontend.address: 203.0.113.9 is not an address of node node-a";
  auto s = ComputeStatus(Forward(1), r, {}, kT0, {});
  const auto& accepted = Find(s, kConditionAccepted);
  EXPECT_EQ(accepted.status(), "False");
  EXPECT_EQ(accepted.reason(), kReasonAddressNotOnNode);
  EXPECT_EQ(accepted.message(), r.message());
  EXPECT_EQ(Find(s, kConditionReady).status(), "False");
  EXPECT_EQ(s.nodes_size(), 0);
}

NodeAckInfo Probed(int64_t generation, DataPathVerdict::Status status, const std::string& message) {
  NodeAckInfo a = Acked(generation);
  a.probes = true;
  a.data_path = DataPathVerdict{status, generation, "", message, kT0};
  return a;
}

TEST(StatusTest, DataPathVerifiedFollowsTheFrontendsProbe) {
  auto status_with = [](std::optional<NodeAckInfo> frontend) {
    std::map<std::string, NodeAckInfo> acks = {{"node-b", Acked(2)}};
    if (frontend.has_value()) acks["node-a"] = *frontend;
    return ComputeStatus(Forward(2), Accepted(), acks, kT0, {});
  };
  NodeAckInfo probing = Acked(2);
  probing.probes = true;
  auto none = status_with(probing);
  EXPECT_EQ(Find(none, kConditionDataPathVerified).status(), "Unknown");
  EXPECT_EQ(Find(none, kConditionDataPathVerified).reason(), kReasonNotProbed);
  EXPECT_EQ(Find(none, kConditionDataPathVerified).message(),
            "no probe result yet from node node-a");
  auto old_agent = status_with(Acked(2));
  EXPECT_EQ(Find(old_agent, kConditionDataPathVerified).message(),
            "the agent of node node-a does not probe (an older version)");

  auto passed = status_with(Probed(2, DataPathVerdict::Status::kTrue, ""));
  EXPECT_EQ(Find(passed, kConditionDataPathVerified).status(), "True");
  EXPECT_EQ(Find(passed, kConditionDataPathVerified).reason(), kReasonVerified);
  EXPECT_EQ(Find(passed, kConditionReady).status(), "True");
  ASSERT_EQ(passed.nodes_size(), 2);
  EXPECT_EQ(passed.nodes(0).name(), "node-a");
  EXPECT_EQ(passed.nodes(0).data_path(), "True");
  EXPECT_EQ(passed.nodes(1).data_path(), "");  // a backend is not probed

  auto failed = status_with(Probed(2, DataPathVerdict::Status::kFalse,
                                   "no SYN-ACK from 10.8.0.2:8080 via 192.0.2.1:80 within 2s"));
  const auto& c = Find(failed, kConditionDataPathVerified);
  EXPECT_EQ(c.status(), "False");
  EXPECT_EQ(c.reason(), kReasonProbeFailed);
  EXPECT_EQ(c.message(), "node node-a: no SYN-ACK from 10.8.0.2:8080 via 192.0.2.1:80 within 2s");
  EXPECT_EQ(Find(failed, kConditionReady).status(), "True");  // applied, but no traffic
  EXPECT_EQ(failed.nodes(0).data_path(), "False");
  EXPECT_EQ(failed.nodes(0).data_path_message(),
            "no SYN-ACK from 10.8.0.2:8080 via 192.0.2.1:80 within 2s");

  auto unproven = status_with(Probed(2, DataPathVerdict::Status::kUnknown, "no reply"));
  EXPECT_EQ(Find(unproven, kConditionDataPathVerified).status(), "Unknown");
  EXPECT_EQ(Find(unproven, kConditionDataPathVerified).reason(), kReasonUnproven);
}

TEST(StatusTest, ARolledBackChangeIsNotReadyAndNamesTheGenerationInEffect) {
  ForwardResolution r = Accepted();
  auto view = std::make_shared<RolloutView>();
  view->stable_generation = 2;
  view->stopped_node = "node-a";
  view->stopped_reason = "node node-a: connection refused by 10.8.0.2:8081";
  view->rolled_back = true;
  view->nodes = 1;
  r.MutableExtra().rollout = view;
  auto s = ComputeStatus(
      Forward(3), r,
      {{"node-a", Probed(2, DataPathVerdict::Status::kTrue, "")}, {"node-b", Acked(2)}}, kT0, {});
  const auto& ready = Find(s, kConditionReady);
  EXPECT_EQ(ready.status(), "False");
  EXPECT_EQ(ready.reason(), kReasonRolledBack);
  EXPECT_EQ(ready.message(),
            "generation 3 rolled back to generation 2: node node-a: connection refused by "
            "10.8.0.2:8081");
  EXPECT_EQ(s.rolled_back_to_generation(), 2);
  // What serves now, generation 2, passes its probe.
  EXPECT_EQ(Find(s, kConditionDataPathVerified).status(), "True");
}

TEST(StatusTest, KeepsTransitionTimeWhileConditionStatusIsUnchanged) {
  auto first = ComputeStatus(Forward(1), Accepted(), {}, kT0, {});
  auto second = ComputeStatus(Forward(1), Accepted(), {}, kT1, first);
  EXPECT_EQ(Find(second, kConditionReady).last_transition_time().seconds(),
            absl::ToUnixSeconds(kT0));
  EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());
}

TEST(StatusTest, MovesTransitionTimeWhenConditionStatusChanges) {
  auto pending = ComputeStatus(Forward(1), Accepted(), {}, kT0, {});
  auto ready = ComputeStatus(Forward(1), Accepted(), {{"node-a", Acked(1)}, {"node-b", Acked(1)}},
                             kT1, pending);
  EXPECT_EQ(Find(ready, kConditionReady).last_transition_time().seconds(),
            absl::ToUnixSeconds(kT1));
  EXPECT_EQ(Find(ready, kConditionAccepted).last_transition_time().seconds(),
            absl::ToUnixSeconds(kT0));
}

ferry::v1::DriftItem Drift(const std::string& object, const std::string& expected,
                           const std::string& found) {
  ferry::v1::DriftItem item;
  item.set_forward("web");
  item.set_object(object);
  item.set_expected(expected);
  item.set_found(found);
  return item;
}

TEST(DriftStatusTest, DescribesAMissingObjectWithWhatWasExpected) {
  EXPECT_EQ(DescribeDrift(Drift("rule 7100", "from 10.8.0.2 lookup 7100", "")),
            "rule 7100: missing, expected \"from 10.8.0.2 lookup 7100\"");
}

TEST(DriftStatusTest, DescribesAnExtraObjectWithWhatWasFound) {
  EXPECT_EQ(DescribeDrift(Drift("route 7100", "", "default via 10.8.0.9")),
            "route 7100: unexpected, found \"default via 10.8.0.9\"");
}

TEST(DriftStatusTest, DescribesAChangedObjectWithBothSides) {
  EXPECT_EQ(DescribeDrift(Drift("sysctl net/ipv4/ip_forward", "1", "0")),
            "sysctl net/ipv4/ip_forward: expected \"1\", found \"0\"");
}

TEST(DriftStatusTest, DriftedIsFalseWithoutDrift) {
  ferry::v1::Condition c = DriftedCondition(Forward(3), {});
  EXPECT_EQ(c.type(), "Drifted");
  EXPECT_EQ(c.status(), "False");
  EXPECT_EQ(c.reason(), "InSync");
  EXPECT_EQ(c.observed_generation(), 3);
}

TEST(DriftStatusTest, DriftedIsTrueNamingNodeObjectExpectedAndFound) {
  ferry::v1::Condition c =
      DriftedCondition(Forward(1), {{"node-b", Drift("rule 7100", "from 10.8.0.2", "")}});
  EXPECT_EQ(c.status(), "True");
  EXPECT_EQ(c.reason(), "DriftDetected");
  EXPECT_EQ(c.message(), "node node-b: rule 7100: missing, expected \"from 10.8.0.2\"");
}

TEST(DriftStatusTest, DriftedListsAFewDifferencesThenCountsTheRest) {
  std::vector<ForwardDrift> drift;
  for (int i = 0; i < 5; ++i) {
    drift.push_back({"node-a", Drift(absl::StrCat("element ", i), "x", "")});
  }
  ferry::v1::Condition c = DriftedCondition(Forward(1), drift);
  EXPECT_THAT(c.message(), HasSubstr("element 2"));
  EXPECT_THAT(c.message(), ::testing::Not(HasSubstr("element 3")));
  EXPECT_THAT(c.message(), HasSubstr("and 2 more"));
}

TEST(DriftStatusTest, InSyncAfterRepairSaysWhatWasRepaired) {
  ferry::v1::DriftReport report;
  *report.add_items() = Drift("rule 7100", "from 10.8.0.2", "");
  report.mutable_items(0)->set_repaired(true);
  report.set_in_sync(true);
  ferry::v1::Condition c = InSyncCondition(report, 1);
  EXPECT_EQ(c.type(), "InSync");
  EXPECT_EQ(c.status(), "True");
  EXPECT_THAT(c.message(), HasSubstr("repairing 1 drifted object(s)"));
}

TEST(DriftStatusTest, NotInSyncCountsTheUnrepairedObjects) {
  ferry::v1::DriftReport report;
  *report.add_items() = Drift("rule 7100", "from 10.8.0.2", "");
  *report.add_items() = Drift("route 7100", "default via 10.8.0.1", "");
  report.set_in_sync(false);
  ferry::v1::Condition c = InSyncCondition(report, 1);
  EXPECT_EQ(c.status(), "False");
  EXPECT_EQ(c.reason(), "DriftDetected");
  EXPECT_EQ(c.message(), "2 drifted object(s): rule 7100; route 7100");
}

}  // namespace
}  // namespace ferry::controller
