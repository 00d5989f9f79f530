// FleetSnapshot's status writes: encoded with the new status swapped in
// (the rest of the stored forward borrowed, not copied), and recorded in
// place with the condition counts kept.

#include "controller/fleet/fleet_snapshot.h"

#include <string>

#include "controller/store/object_codec.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/memory_store.h"

namespace ferry::controller {
namespace {

using ferry::v1::IPForwardStatus;
using ferry::v1::Object;
using google::protobuf::util::MessageDifferencer;

Object Forward(const std::string& name, const std::string& ready) {
  Object o;
  auto* f = o.mutable_ip_forward();
  f->set_api_version("ferry.dev/v1");
  f->set_kind("IPForward");
  f->mutable_metadata()->set_name(name);
  f->mutable_metadata()->set_generation(3);
  (*f->mutable_metadata()->mutable_labels())["app"] = "web";
  f->mutable_spec()->mutable_frontend()->set_node_name("node-a");
  f->mutable_spec()->mutable_frontend()->set_address("10.0.0.1");
  auto* c = f->mutable_status()->add_conditions();
  c->set_type("Ready");
  c->set_status(ready);
  return o;
}

class FleetSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.Commit({PutOp(Forward("web", "False"), WriteOp::kMustNotExist)}).ok());
    ASSERT_TRUE(snapshot_.Refresh().ok());
    ASSERT_EQ(snapshot_.forwards().count("web"), 1u);
  }

  MemoryStore store_;
  FleetSnapshot snapshot_{&store_};
};

TEST_F(FleetSnapshotTest, AForwardIsHeldAsItsNameGenerationAndSpecOnly) {
  Object labelled = Forward("cache", "False");
  ferry::v1::ObjectMeta* meta = labelled.mutable_ip_forward()->mutable_metadata();
  (*meta->mutable_labels())["team"] = "web";
  meta->set_uid("0b7e4d9a-3f1c-4c2e-9d8a-5e6f7a8b9c0d");
  meta->set_generation(3);
  labelled.mutable_ip_forward()->set_api_version("ferry.dev/v1");
  ASSERT_TRUE(store_.Commit({PutOp(labelled, WriteOp::kMustNotExist)}).ok());
  ASSERT_TRUE(snapshot_.Refresh().ok());
  const PlanForward& held = *snapshot_.forwards().at("cache").forward;
  EXPECT_EQ(held.name, "cache");
  EXPECT_EQ(held.generation, 3);
  EXPECT_EQ(held.spec.SerializeAsString(), labelled.ip_forward().spec().SerializeAsString())
      << held.spec.DebugString();
}

TEST_F(FleetSnapshotTest, ALaterWriteOfTheForwardReplacesTheHeldOne) {
  ASSERT_TRUE(store_.Commit({PutOp(Forward("web", "True"), WriteOp::kAnyRevision)}).ok());
  absl::StatusOr<FleetSnapshot::Changes> changes = snapshot_.Refresh();
  ASSERT_TRUE(changes.ok()) << changes.status();
  // Only the status differs (which ForwardStatuses holds, not this): not a
  // spec change.
  EXPECT_EQ(changes->specs.count("web"), 0u);
  EXPECT_EQ(changes->statuses.count("web"), 1u);
  EXPECT_EQ(snapshot_.forwards().at("web").forward->name, "web");
}

}  // namespace
}  // namespace ferry::controller
