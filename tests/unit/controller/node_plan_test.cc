// NodePlan's encodings and its delta-size estimate. A full push is the
// plan's pieces appended, so it must be byte for byte what protobuf writes
// for the same config. The push decides between a delta and the full
// config on the estimate before building the delta, so it must be the
// delta's exact size less its fixed fields, for added, changed, removed
// and changed-back forwards.

#include "controller/planner/node_plan.h"

#include <optional>
#include <string>

#include "controller/planner/planner.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ferry::v1::NodeConfig;
using ferry::v1::NodeConfigDelta;

NodePlan::PiecePtr Piece(const std::string& forward, uint32_t port, bool with_route = false) {
  NodeConfig entries;
  auto* rule = entries.add_dnat();
  rule->set_forward(forward);
  rule->set_generation(1);
  rule->set_frontend_address("192.0.2.1");
  rule->set_port(port);
  rule->set_backend_address("10.8.0.2");
  rule->set_target_port(8080);
  if (with_route) {
    auto* route = entries.add_return_routes();
    route->set_forward(forward);
    route->set_source_address("10.8.0.2");
    route->set_port(8080);
    route->set_via("10.8.0.1");
  }
  entries.set_ipv4_forwarding(true);
  return NodePlan::MakePiece(std::move(entries));
}

// The delta's size with no forward named and no entry: its fixed fields.
size_t FixedFields(const NodeConfigDelta& delta) {
  NodeConfigDelta fixed;
  fixed.set_version(delta.version());
  fixed.set_base_version(delta.base_version());
  fixed.set_ipv4_forwarding(delta.ipv4_forwarding());
  fixed.set_ipv6_forwarding(delta.ipv6_forwarding());
  return fixed.ByteSizeLong();
}

TEST(NodePlanTest, TheDeltaSizeEstimateIsTheDeltaLessItsFixedFields) {
  NodePlan plan;
  for (int i = 0; i < 20; ++i)
    plan.Put("fwd-" + std::to_string(i), Piece("fwd-" + std::to_string(i), 1000 + i, i % 3 == 0));
  plan.Seal();
  plan.MarkPushed();
  const std::string base = plan.version();
  EXPECT_EQ(plan.DeltaEntryBytesSinceMark(), 0u);

  plan.Put("fwd-1", Piece("fwd-1", 2001));    // changed
  plan.Put("fwd-2", nullptr);                 // removed
  plan.Put("new", Piece("new", 3000, true));  // added
  plan.Put("fwd-4", Piece("fwd-4", 5000));    // changed ...
  plan.Put("fwd-4", Piece("fwd-4", 1004));    // ... and back
  plan.Seal();
  std::optional<NodePlan::Delta> encoded = plan.DeltaSinceMark(base);
  ASSERT_TRUE(encoded.has_value());
  NodeConfigDelta delta;
  ASSERT_TRUE(delta.ParseFromString(encoded->encoded));
  EXPECT_EQ(encoded->forwards, 3);
  EXPECT_EQ(delta.forwards_size(), 3) << delta.DebugString();
  EXPECT_EQ(plan.DeltaEntryBytesSinceMark() + FixedFields(delta), delta.ByteSizeLong());
  EXPECT_EQ(delta.SerializeAsString(), encoded->encoded);
}

TEST(NodePlanTest, WhenEveryForwardIsNewTheFullConfigIsTheSmallerMessage) {
  NodePlan plan;
  plan.Seal();
  plan.MarkPushed();
  for (int i = 0; i < 50; ++i)
    plan.Put("fwd-" + std::to_string(i), Piece("fwd-" + std::to_string(i), 1000 + i));
  plan.Seal();
  EXPECT_GE(plan.DeltaEntryBytesSinceMark(), plan.ByteSize());
  EXPECT_EQ(plan.ByteSize(), plan.Materialize()->ByteSizeLong());
}

TEST(NodePlanTest, TheFullConfigIsWhatProtobufWritesForTheSameEntries) {
  NodePlan plan;
  NodeConfig expected;
  // Names out of order, ports within a forward out of order, routes on
  // some: the plan sorts, as PlanFleet does.
  for (int i : {7, 3, 11, 0, 5}) {
    const std::string name = "fwd-" + std::to_string(i);
    NodeConfig entries;
    for (uint32_t port : {2000u + i, 1000u + i}) {
      auto* rule = entries.add_dnat();
      rule->set_forward(name);
      rule->set_generation(i + 1);
      rule->set_frontend_address("192.0.2.1");
      rule->set_port(port);
      rule->set_backend_address("10.8.0.2");
      rule->set_target_port(8080);
    }
    if (i % 2 == 1) {
      auto* route = entries.add_return_routes();
      route->set_forward(name);
      route->set_generation(i + 1);
      route->set_source_address("10.8.0.2");
      route->set_port(8080);
      route->set_via("10.8.0.1");
    }
    entries.set_ipv4_forwarding(true);
    expected.MergeFrom(entries);
    plan.Put(name, NodePlan::MakePiece(std::move(entries)));
  }
  plan.Seal();
  SortConfigEntries(&expected);
  expected.set_version(ConfigVersion(expected));
  std::string encoded;
  plan.AppendConfig(&encoded);
  EXPECT_EQ(plan.version(), expected.version());
  EXPECT_EQ(encoded, expected.SerializeAsString());
  EXPECT_EQ(plan.ByteSize(), encoded.size());
  EXPECT_EQ(plan.dnat_count(), 10);
  EXPECT_EQ(plan.route_count(), 4);  // the odd ones
}

}  // namespace
}  // namespace ferry::controller
