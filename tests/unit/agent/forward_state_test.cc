// Spec: the forward state plans what a change to some forwards does to
// elements that several forwards share.

#include "node-agent/state/forward_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ferry::agent
