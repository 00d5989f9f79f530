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

IPForwardStatus ReadyStatus(const std::string& ready) {
  return Forward("unused", ready).ip_forward().status();
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

TEST_F(FleetSnapshotTest, EncodeWithStatusIsTheStoredForwardWithThatStatus) {
  IPForwardStatus status = ReadyStatus("True");
  std::string value = snapshot_.EncodeWithStatus("web", &status);

  Object decoded;
  ASSERT_TRUE(decoded.ParseFromString(value));
  EXPECT_TRUE(MessageDifferencer::Equals(decoded, Forward("web", "True"))) << decoded.DebugString();
  // Neither the snapshot nor the caller's status changed.
  EXPECT_TRUE(
      MessageDifferencer::Equals(snapshot_.forwards().at("web").object(), Forward("web", "False")));
  EXPECT_TRUE(MessageDifferencer::Equals(status, ReadyStatus("True")));
}

TEST_F(FleetSnapshotTest, RecordStatusReplacesOnlyTheStatusAndRecounts) {
  const auto ready_false = std::make_pair(std::string("Ready"), std::string("False"));
  const auto ready_true = std::make_pair(std::string("Ready"), std::string("True"));
  EXPECT_EQ(snapshot_.condition_counts().at(ready_false), 1);

  snapshot_.RecordStatus("web", ReadyStatus("True"), 42);

  const FleetSnapshot::Stored& stored = snapshot_.forwards().at("web");
  EXPECT_EQ(stored.revision, 42);
  EXPECT_TRUE(MessageDifferencer::Equals(stored.object(), Forward("web", "True")));
  EXPECT_EQ(snapshot_.condition_counts().count(ready_false), 0u);
  EXPECT_EQ(snapshot_.condition_counts().at(ready_true), 1);
}

}  // namespace
}  // namespace ferry::controller
