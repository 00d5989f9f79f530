// Spec: the forward state plans what a change to some forwards does to
// elements that several forwards share.

#include "node-agent/state/forward_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "node-agent/state/desired_update.h"

namespace ferry::agent {
namespace {

using ::testing::IsEmpty;

ferry::v1::DnatRule Rule(absl::string_view forward, uint32_t port, bool masquerade = false) {
  ferry::v1::DnatRule rule;
  rule.set_forward(std::string(forward));
  rule.set_generation(1);
  rule.set_frontend_address("203.0.113.1");
  rule.set_protocol(ferry::v1::TCP);
  rule.set_port(port);
  rule.set_backend_address("10.8.0.2");
  rule.set_target_port(8080);
  rule.set_masquerade(masquerade);
  return rule;
}

TEST(ForwardStateTest, SharedMasqueradeElementPassesToTheRemainingOwner) {
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Rule("a", 80, true);
  *config.add_dnat() = Rule("b", 81, true);
  absl::StatusOr<DesiredState> desired = BuildDesiredState(config);
  ASSERT_TRUE(desired.ok());
  ASSERT_EQ(desired->nat.masq.size(), 1u);
  EXPECT_EQ(desired->nat.masq.begin()->second, "ipforward/a");
  const ForwardState state = ForwardState::Of(config, {}, desired->sharers);

  ferry::api::ForwardUpdates updates;
  updates["a"];  // a is removed
  absl::StatusOr<DesiredChange> change = state.Plan(updates, desired->nat);
  ASSERT_TRUE(change.ok()) << change.status();
  ASSERT_EQ(change->masq.size(), 1u);
  EXPECT_EQ(change->masq.begin()->second, "ipforward/b");
  EXPECT_THAT(change->masq_sharers.begin()->second, IsEmpty());
}

TEST(ForwardStateTest, LastOwnerGoneRemovesTheSharedElement) {
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Rule("a", 80, true);
  *config.add_dnat() = Rule("b", 81, true);
  absl::StatusOr<DesiredState> desired = BuildDesiredState(config);
  ASSERT_TRUE(desired.ok());
  const ForwardState state = ForwardState::Of(config, {}, desired->sharers);
  ferry::api::ForwardUpdates updates;
  updates["a"];
  updates["b"];
  absl::StatusOr<DesiredChange> change = state.Plan(updates, desired->nat);
  ASSERT_TRUE(change.ok());
  ASSERT_EQ(change->masq.size(), 1u);
  EXPECT_FALSE(change->masq.begin()->second.has_value());
}

// A full push that is mostly new is built whole, as at a cold start; one
// that changes a few held forwards is diffed forward by forward.
TEST(DesiredUpdateTest, AMostlyNewConfigIsBuiltWholeAndAFewChangesIncrementally) {
  ferry::v1::NodeConfig held_config;
  *held_config.add_dnat() = Rule("a", 80);
  *held_config.add_dnat() = Rule("b", 81);
  absl::StatusOr<DesiredState> held_desired = BuildDesiredState(held_config);
  ASSERT_TRUE(held_desired.ok());
  const ForwardState held = ForwardState::Of(held_config, {}, held_desired->sharers);

  ferry::v1::NodeConfig one_more = held_config;
  *one_more.add_dnat() = Rule("c", 82);
  absl::StatusOr<DesiredUpdate> small = UpdateOfConfig(one_more, &held, held_desired->nat, {});
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_FALSE(small->whole.has_value());
  EXPECT_EQ(small->forwards.size(), 1u);

  ferry::v1::NodeConfig many = held_config;
  for (uint32_t port = 100; port < 110; ++port) {
    *many.add_dnat() = Rule("n" + std::to_string(port), port);
  }
  absl::StatusOr<DesiredUpdate> big = UpdateOfConfig(many, &held, held_desired->nat, {});
  ASSERT_TRUE(big.ok()) << big.status();
  ASSERT_TRUE(big->whole.has_value());
  EXPECT_EQ(big->whole->nat.dnat.size(), 12u);
  EXPECT_EQ(big->whole_forwards.forwards().size(), 12u);

  const ForwardState empty = ForwardState::Of(ferry::v1::NodeConfig(), {}, {});
  absl::StatusOr<DesiredUpdate> first = UpdateOfConfig(one_more, &empty, NatState(), {});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->whole.has_value());
}

}  // namespace
}  // namespace ferry::agent
