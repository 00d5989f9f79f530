// A follower replica's fleet (FleetReconciler::Follow): it keeps its
// snapshot caught up with the store and writes and pushes nothing; once
// elected (Start), its first pass plans every forward the snapshot took in
// while it followed.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/fleet/fleet_reconciler.h"
#include "controller/store/object_codec.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/memory_store.h"
#include "tests/unit/controller/recording_push_sink.h"
#include "tests/unit/controller/stored_objects.h"

namespace ferry::controller {
namespace {

void PutForward(MemoryStore* store, const std::string& name, uint32_t port) {
  ferry::v1::Object o;
  auto* f = o.mutable_ip_forward();
  f->mutable_metadata()->set_name(name);
  f->mutable_metadata()->set_generation(1);
  f->mutable_spec()->mutable_frontend()->set_node_name("node-a");
  f->mutable_spec()->mutable_frontend()->set_address("192.0.2.1");
  f->mutable_spec()->mutable_backend()->set_address("198.51.100.7");
  f->mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
  f->mutable_spec()->add_ports()->set_port(port);
  ASSERT_TRUE(ferry::controller::PutForward(*store, o).ok());
}

bool WaitForSnapshot(FleetReconciler* fleet, int64_t revision) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (fleet->SnapshotRevision() < revision) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST(FleetFollowTest, AFollowerWritesNothingAndOnElectionPlansWhatItFollowed) {
  MemoryStore store;
  FleetReconciler::Options options;
  options.store_poll = absl::Milliseconds(50);
  FleetReconciler fleet(&store, options);
  PutForward(&store, "before", 1001);
  fleet.Follow();
  PutForward(&store, "during", 1002);
  const int64_t written = store.CurrentRevision();
  ASSERT_TRUE(WaitForSnapshot(&fleet, written));
  // Caught up, and nothing of its own written: no Node, status or event.
  EXPECT_EQ(store.CurrentRevision(), written);
  EXPECT_EQ(fleet.statuses().size(), 0u);

  fleet.Start();
  RecordingPushSink sink;
  ferry::v1::Hello hello;
  hello.set_node_name("node-a");
  hello.set_agent_version("0.3.0");
  auto* address = hello.add_addresses();
  address->set_interface("eth0");
  address->set_address("192.0.2.1");
  address->set_prefix_length(24);
  SessionHandle* session = fleet.Connect("node-a", hello, &sink);
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(sink.WaitForPushes(1));
  const ferry::v1::ConfigPush push = sink.last();
  const ferry::v1::NodeConfig& config = push.config();
  int planned = 0;
  for (const auto& rule : config.dnat()) {
    if (rule.forward() == "before" || rule.forward() == "during") ++planned;
  }
  EXPECT_EQ(planned, 2) << config.ShortDebugString();
  fleet.Disconnect(session);
  fleet.Stop();
}

}  // namespace
}  // namespace ferry::controller
