#include "controller/planner/plan_forward.h"

#include <gtest/gtest.h>

namespace ferry::controller {
namespace {

ferry::v1::IPForward Labelled() {
  ferry::v1::IPForward f;
  f.mutable_metadata()->set_name("web");
  f.mutable_metadata()->set_generation(4);
  (*f.mutable_metadata()->mutable_labels())["team"] = "edge";
  f.mutable_spec()->mutable_frontend()->set_node_name("node-a");
  f.mutable_spec()->mutable_frontend()->set_address("192.0.2.1");
  f.mutable_spec()->mutable_backend()->set_address("10.8.0.2");
  auto* port = f.mutable_spec()->add_ports();
  port->set_port(80);
  port->set_target_port(8080);
  return f;
}

TEST(PlanForwardTest, ARefReadsTheSameFromTheMessageAndFromThePlanForward) {
  const ferry::v1::IPForward message = Labelled();
  std::shared_ptr<const PlanForward> held = PlanForward::Of(message);
  const ForwardRef a(message), b(*held);
  EXPECT_EQ(a.name(), "web");
  EXPECT_EQ(b.name(), "web");
  EXPECT_EQ(a.generation(), 4);
  EXPECT_EQ(b.generation(), 4);
  EXPECT_EQ(a.spec().SerializeAsString(), b.spec().SerializeAsString());
  EXPECT_EQ(&a.spec(), &message.spec()) << "a ref borrows, it does not copy";
}

TEST(PlanForwardTest, TakeMovesTheSpecsPartsInsteadOfCopyingThem) {
  ferry::v1::IPForward message = Labelled();
  const std::string want = message.spec().SerializeAsString();
  const ferry::v1::Backend* backend = &message.spec().backend();
  std::shared_ptr<const PlanForward> held = PlanForward::Take(&message);
  EXPECT_EQ(held->name, "web");
  EXPECT_EQ(held->generation, 4);
  EXPECT_EQ(held->spec.SerializeAsString(), want);
  EXPECT_EQ(&held->spec.backend(), backend);
}

TEST(PlanForwardTest, TheSameInputsNeedTheSameGenerationAndSpec) {
  ferry::v1::IPForward message = Labelled();
  std::shared_ptr<const PlanForward> before = PlanForward::Of(message);
  // Labels are not an input of the plan.
  (*message.mutable_metadata()->mutable_labels())["team"] = "core";
  EXPECT_TRUE(before->SameInputs(*PlanForward::Of(message)));
  message.mutable_metadata()->set_generation(5);
  EXPECT_FALSE(before->SameInputs(*PlanForward::Of(message)));
  message.mutable_metadata()->set_generation(4);
  message.mutable_spec()->mutable_ports(0)->set_target_port(8081);
  EXPECT_FALSE(before->SameInputs(*PlanForward::Of(message)));
}

}  // namespace
}  // namespace ferry::controller
