#include "api/lib/config_delta.h"

#include <string>
#include <vector>

#include "controller/planner/planner.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/unit/api/apply_delta.h"

namespace ferry::controller {
namespace {

using api::ComputeDelta;

using ::testing::ElementsAre;
using ::testing::IsEmpty;

ferry::v1::IPForward Forward(const std::string& name, uint32_t port, int64_t generation = 1,
                             const std::string& backend = "10.8.0.2") {
  ferry::v1::IPForward f;
  f.mutable_metadata()->set_name(name);
  f.mutable_metadata()->set_generation(generation);
  f.mutable_spec()->mutable_frontend()->set_node_name("node-a");
  f.mutable_spec()->mutable_frontend()->set_address("192.0.2.1");
  f.mutable_spec()->mutable_backend()->set_address(backend);
  f.mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
  auto* p = f.mutable_spec()->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(port);
  return f;
}

ferry::v1::Node NodeA() {
  ferry::v1::Node n;
  n.mutable_metadata()->set_name("node-a");
  auto* a = n.mutable_status()->add_addresses();
  a->set_address("192.0.2.1");
  a->set_prefix_length(24);
  return n;
}

ferry::v1::NodeConfig Plan(const std::vector<ferry::v1::IPForward>& forwards) {
  return PlanFleet(forwards, {NodeA()}).node_configs.at("node-a");
}

std::vector<std::string> Forwards(const ferry::v1::NodeConfigDelta& delta) {
  return {delta.forwards().begin(), delta.forwards().end()};
}

TEST(ConfigDeltaTest, ChangedForwardIsNamedWithAllItsNewEntries) {
  ferry::v1::NodeConfig base = Plan({Forward("a", 80), Forward("b", 81)});
  ferry::v1::NodeConfig target = Plan({Forward("a", 80), Forward("b", 81, 2, "10.8.0.9")});
  ferry::v1::NodeConfigDelta delta = ComputeDelta(base, target);
  EXPECT_THAT(Forwards(delta), ElementsAre("b"));
  ASSERT_EQ(delta.dnat_size(), 1);
  EXPECT_EQ(delta.dnat(0).backend_address(), "10.8.0.9");
  EXPECT_EQ(delta.dnat(0).generation(), 2);
}

TEST(ConfigDeltaTest, RemovedForwardIsNamedWithNoEntries) {
  ferry::v1::NodeConfig base = Plan({Forward("a", 80), Forward("b", 81)});
  ferry::v1::NodeConfig target = Plan({Forward("a", 80)});
  ferry::v1::NodeConfigDelta delta = ComputeDelta(base, target);
  EXPECT_THAT(Forwards(delta), ElementsAre("b"));
  EXPECT_THAT(delta.dnat(), IsEmpty());
}

TEST(ConfigDeltaTest, AddedForwardIsNamedWithItsEntries) {
  ferry::v1::NodeConfig base = Plan({Forward("a", 80)});
  ferry::v1::NodeConfig target = Plan({Forward("a", 80), Forward("c", 82)});
  ferry::v1::NodeConfigDelta delta = ComputeDelta(base, target);
  EXPECT_THAT(Forwards(delta), ElementsAre("c"));
  ASSERT_EQ(delta.dnat_size(), 1);
  EXPECT_EQ(delta.dnat(0).port(), 82u);
}

TEST(ConfigDeltaTest, ForwardWithAnExtraPortIsNamed) {
  ferry::v1::IPForward wider = Forward("a", 80);
  auto* p = wider.mutable_spec()->add_ports();
  p->set_protocol(ferry::v1::UDP);
  p->set_port(53);
  ferry::v1::NodeConfigDelta delta = ComputeDelta(Plan({Forward("a", 80)}), Plan({wider}));
  EXPECT_THAT(Forwards(delta), ElementsAre("a"));
  EXPECT_EQ(delta.dnat_size(), 2);
}

TEST(ConfigDeltaTest, EqualConfigsGiveAnEmptyDelta) {
  ferry::v1::NodeConfig config = Plan({Forward("a", 80), Forward("b", 81)});
  EXPECT_THAT(Forwards(ComputeDelta(config, config)), IsEmpty());
}

TEST(ConfigDeltaTest, DeltaCarriesBothVersionsAndTheTargetsForwardingFlags) {
  ferry::v1::NodeConfig base = Plan({});
  ferry::v1::NodeConfig target = Plan({Forward("a", 80)});
  ferry::v1::NodeConfigDelta delta = ComputeDelta(base, target);
  EXPECT_EQ(delta.base_version(), base.version());
  EXPECT_EQ(delta.version(), target.version());
  EXPECT_FALSE(base.ipv4_forwarding());
  EXPECT_TRUE(delta.ipv4_forwarding());
}

TEST(ConfigDeltaTest, ApplyingTheDeltaToItsBaseGivesTheTarget) {
  ferry::v1::NodeConfig base = Plan({Forward("a", 80), Forward("b", 81), Forward("d", 83)});
  ferry::v1::NodeConfig target =
      Plan({Forward("a", 80, 3, "10.8.0.7"), Forward("c", 82), Forward("d", 83)});
  const ferry::v1::NodeConfigDelta delta = ComputeDelta(base, target);
  absl::StatusOr<ferry::v1::NodeConfig> applied_or = testing::ApplyDeltaAsAgent(base, delta);
  ASSERT_TRUE(applied_or.ok()) << applied_or.status();
  const ferry::v1::NodeConfig& applied = *applied_or;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(applied, target))
      << applied.DebugString() << "\nwant\n"
      << target.DebugString();
  EXPECT_EQ(ConfigVersion(applied), target.version());
}

}  // namespace
}  // namespace ferry::controller
