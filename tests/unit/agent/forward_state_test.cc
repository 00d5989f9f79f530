// Spec: the forward index finds which forwards a push changes, and what
// the change does to elements that several forwards share.

#include "node-agent/state/forward_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Key;

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

ForwardIndex Index(const ferry::v1::NodeConfig& config) {
  absl::StatusOr<DesiredState> desired = BuildDesiredState(config);
  EXPECT_TRUE(desired.ok()) << desired.status();
  return ForwardIndex::FromConfig(config, *desired);
}

TEST(ForwardIndexTest, SameEntryComparesEveryField) {
  // A new proto field must be added to SameEntry, or a change to it alone
  // would never reach the kernel.
  EXPECT_EQ(ferry::v1::DnatRule::descriptor()->field_count(), 10);
  EXPECT_EQ(ferry::v1::ReturnRoute::descriptor()->field_count(), 8);
}

TEST(ForwardIndexTest, UnchangedConfigHasNoUpdates) {
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Rule("a", 80);
  *config.add_dnat() = Rule("b", 81);
  EXPECT_THAT(Index(config).UpdatesTo(config), IsEmpty());
}

TEST(ForwardIndexTest, NewGenerationAloneIsAnUpdate) {
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Rule("a", 80);
  *config.add_dnat() = Rule("b", 81);
  const ForwardIndex index = Index(config);
  config.mutable_dnat(1)->set_generation(2);
  EXPECT_THAT(index.UpdatesTo(config), ElementsAre(Key("b")));
}

TEST(ForwardIndexTest, ForwardGoneFromTheConfigIsAnUpdateWithNoEntries) {
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Rule("a", 80);
  *config.add_dnat() = Rule("b", 81);
  const ForwardIndex index = Index(config);
  config.mutable_dnat()->RemoveLast();
  const ForwardUpdates updates = index.UpdatesTo(config);
  ASSERT_THAT(updates, ElementsAre(Key("b")));
  EXPECT_THAT(updates.at("b").dnat, IsEmpty());
}

TEST(ForwardIndexTest, SharedMasqueradeElementPassesToTheRemainingOwner) {
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Rule("a", 80, true);
  *config.add_dnat() = Rule("b", 81, true);
  absl::StatusOr<DesiredState> desired = BuildDesiredState(config);
  ASSERT_TRUE(desired.ok());
  ASSERT_EQ(desired->nat.masq.size(), 1u);
  EXPECT_EQ(desired->nat.masq.begin()->second, "ipforward/a");
  const ForwardIndex index = ForwardIndex::FromConfig(config, *desired);

  ForwardUpdates updates;
  updates["a"];  // a is removed
  absl::StatusOr<DesiredChange> change = index.Plan(updates, desired->nat);
  ASSERT_TRUE(change.ok()) << change.status();
  ASSERT_EQ(change->masq.size(), 1u);
  EXPECT_EQ(change->masq.begin()->second, "ipforward/b");
  EXPECT_THAT(change->masq_sharers.begin()->second, IsEmpty());
}

TEST(ForwardIndexTest, LastOwnerGoneRemovesTheSharedElement) {
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Rule("a", 80, true);
  *config.add_dnat() = Rule("b", 81, true);
  absl::StatusOr<DesiredState> desired = BuildDesiredState(config);
  ASSERT_TRUE(desired.ok());
  const ForwardIndex index = ForwardIndex::FromConfig(config, *desired);
  ForwardUpdates updates;
  updates["a"];
  updates["b"];
  absl::StatusOr<DesiredChange> change = index.Plan(updates, desired->nat);
  ASSERT_TRUE(change.ok());
  ASSERT_EQ(change->masq.size(), 1u);
  EXPECT_FALSE(change->masq.begin()->second.has_value());
}

TEST(ForwardIndexTest, ToConfigHoldsEveryForwardWithTheUpdatesApplied) {
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Rule("b", 81);
  *config.add_dnat() = Rule("a", 80);
  const ForwardIndex index = Index(config);
  const ferry::v1::DnatRule c = Rule("c", 82);
  ForwardUpdates updates;
  updates["b"];
  updates["c"].dnat.emplace_back(0, &c);
  const ferry::v1::NodeConfig out = index.ToConfig(updates);
  ASSERT_EQ(out.dnat_size(), 2);
  EXPECT_EQ(out.dnat(0).forward(), "a");
  EXPECT_EQ(out.dnat(1).forward(), "c");
}

}  // namespace
}  // namespace ferry::agent
