// Spec: a node config's change is grouped by forward (api/lib/config_delta.h):
// which forwards a full push changes against what a node applied, and the
// config those forwards make once updates are applied.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/lib/config_delta.h"

namespace ferry::api {
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

TEST(ForwardUpdatesTest, SameEntryComparesEveryField) {
  // A new proto field must be added to api::SameEntry, or a change to it
  // alone would never reach the kernel.
  EXPECT_EQ(ferry::v1::DnatRule::descriptor()->field_count(), 13);
  EXPECT_EQ(ferry::v1::ReturnRoute::descriptor()->field_count(), 9);
}

TEST(ForwardUpdatesTest, UnchangedConfigHasNoUpdates) {
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Rule("a", 80);
  *config.add_dnat() = Rule("b", 81);
  EXPECT_THAT(UpdatesBetween(IndexByForward(config), config), IsEmpty());
}

TEST(ForwardUpdatesTest, NewGenerationAloneIsAnUpdate) {
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Rule("a", 80);
  *config.add_dnat() = Rule("b", 81);
  const ForwardMap applied = IndexByForward(config);
  config.mutable_dnat(1)->set_generation(2);
  EXPECT_THAT(UpdatesBetween(applied, config), ElementsAre(Key("b")));
}

TEST(ForwardUpdatesTest, ForwardGoneFromTheConfigIsAnUpdateWithNoEntries) {
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Rule("a", 80);
  *config.add_dnat() = Rule("b", 81);
  const ForwardMap applied = IndexByForward(config);
  config.mutable_dnat()->RemoveLast();
  const ForwardUpdates updates = UpdatesBetween(applied, config);
  ASSERT_THAT(updates, ElementsAre(Key("b")));
  EXPECT_THAT(updates.at("b").dnat, IsEmpty());
}

TEST(ForwardUpdatesTest, ApplyingUpdatesKeepsUnnamedForwardsAndReplacesOrErasesNamedOnes) {
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Rule("b", 81);
  *config.add_dnat() = Rule("a", 80);
  ForwardMap applied = IndexByForward(config);
  const ferry::v1::DnatRule c = Rule("c", 82);
  ForwardUpdates updates;
  updates["b"];
  updates["c"].dnat.emplace_back(0, &c);
  ApplyUpdates(updates, &applied);
  ASSERT_EQ(applied.size(), 2u);
  ASSERT_TRUE(applied.contains("a"));
  EXPECT_EQ(applied.at("a").dnat.at(0).port(), 80u);
  EXPECT_FALSE(applied.contains("b"));
  ASSERT_TRUE(applied.contains("c"));
  EXPECT_EQ(applied.at("c").dnat.at(0).port(), 82u);
}

}  // namespace
}  // namespace ferry::api
