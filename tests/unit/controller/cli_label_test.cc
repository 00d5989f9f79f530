#include "controller/cli/label.h"
#include "gtest/gtest.h"

namespace ferry::cli {
namespace {

using Change = Command::LabelChange;

ferry::v1::Object Node() {
  ferry::v1::Object object;
  ferry::v1::Node* node = object.mutable_node();
  node->mutable_metadata()->set_name("node-a");
  (*node->mutable_metadata()->mutable_labels())["zone"] = "fra1";  // derived
  (*node->mutable_status()->mutable_agent_labels())["zone"] = "fra1";
  (*node->mutable_spec()->mutable_labels())["tier"] = "edge";
  return object;
}

TEST(CliLabelTest, ANodesChangesGoToItsSpecLabels) {
  ferry::v1::Object object = Node();
  absl::StatusOr<bool> changed =
      ChangeLabels({{"zone", "ams3"}, {"tier", std::nullopt}}, false, &object);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  const auto& spec = object.node().spec().labels();
  EXPECT_EQ(spec.size(), 1u);
  EXPECT_EQ(spec.at("zone"), "ams3");
  EXPECT_EQ(object.node().status().agent_labels().at("zone"), "fra1");
}

TEST(CliLabelTest, AForwardsChangesGoToItsMetadataLabels) {
  ferry::v1::Object object;
  object.mutable_ip_forward()->mutable_metadata()->set_name("web");
  absl::StatusOr<bool> changed = ChangeLabels({{"team", "edge"}}, false, &object);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(object.ip_forward().metadata().labels().at("team"), "edge");
}

TEST(CliLabelTest, TheSameValueIsNoChangeAndAnotherNeedsOverwrite) {
  ferry::v1::Object object = Node();
  absl::StatusOr<bool> same = ChangeLabels({{"tier", "edge"}}, false, &object);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_FALSE(*same);
  absl::StatusOr<bool> other = ChangeLabels({{"tier", "core"}}, false, &object);
  EXPECT_EQ(other.status().message(),
            "label \"tier\" already has the value \"edge\"; use --overwrite to change it");
  other = ChangeLabels({{"tier", "core"}}, true, &object);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(object.node().spec().labels().at("tier"), "core");
}

TEST(CliLabelTest, RemovingAnAbsentOrTheAgentsLabelIsAnError) {
  ferry::v1::Object object = Node();
  EXPECT_EQ(ChangeLabels({{"zone", std::nullopt}}, false, &object).status().message(),
            "label \"zone\" is the agent's (its --labels flag): change it there");
  EXPECT_EQ(ChangeLabels({{"rack", std::nullopt}}, false, &object).status().message(),
            "label \"rack\" not found");
}

}  // namespace
}  // namespace ferry::cli
