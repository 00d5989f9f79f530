#include "controller/planner/status.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);
const absl::Time kT1 = kT0 + absl::Minutes(5);

ferry::v1::IPForward Forward(int64_t generation) {
  ferry::v1::IPForward f;
  f.mutable_metadata()->set_name("web");
  f.mutable_metadata()->set_generation(generation);
  return f;
}

ForwardResolution Accepted() {
  ForwardResolution r;
  r.accepted = true;
  r.reason = kReasonAccepted;
  r.return_via = "10.8.0.1";
  r.nodes = {{"node-a", kRoleFrontend}, {"node-b", kRoleBackend}};
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
  r.message = "spec.frontend.address: 203.0.113.9 is not an address of node node-a";
  auto s = ComputeStatus(Forward(1), r, {}, kT0, {});
  const auto& accepted = Find(s, kConditionAccepted);
  EXPECT_EQ(accepted.status(), "False");
  EXPECT_EQ(accepted.reason(), kReasonAddressNotOnNode);
  EXPECT_EQ(accepted.message(), r.message);
  EXPECT_EQ(Find(s, kConditionReady).status(), "False");
  EXPECT_EQ(s.nodes_size(), 0);
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

}  // namespace
}  // namespace ferry::controller
