// NodePlan's delta-size estimate: the push decides between a delta and the
// full config on it before building the delta, so it must be the delta's
// exact size less its fixed fields, for added, changed, removed and
// changed-back forwards.

#include "controller/planner/node_plan.h"

#include <optional>
#include <string>

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
  std::optional<NodeConfigDelta> delta = plan.DeltaSinceMark(base);
  ASSERT_TRUE(delta.has_value());
  EXPECT_EQ(delta->forwards_size(), 3) << delta->DebugString();
  EXPECT_EQ(plan.DeltaEntryBytesSinceMark() + FixedFields(*delta), delta->ByteSizeLong());
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

}  // namespace
}  // namespace ferry::controller
