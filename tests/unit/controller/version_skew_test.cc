// Version skew: agents may lag the controller by one minor version. An
// older agent's Hello names its version and announces none of the newer
// capabilities (no CAPABILITY_CONFIG_DELTA, no CAPABILITY_DATA_PATH_PROBE);
// the controller decides by those typed fields alone, never by the version
// string. Such an agent gets every change as a full config, its forwards
// become Ready on its ACKs, and DataPathVerified says it does not probe
// rather than waiting for it; a current agent beside it keeps its deltas.

#include <string>
#include <vector>

#include "api/lib/conditions.h"
#include "api/lib/sync_protocol.h"
#include "controller/fleet/fleet_reconciler.h"
#include "controller/store/object_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/memory_store.h"
#include "tests/unit/controller/published_status.h"
#include "tests/unit/controller/recording_push_sink.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

// The Hello of a 0.2 agent: no capabilities at all.
ferry::v1::Hello OldHello(const std::string& name, const std::vector<std::string>& addresses) {
  ferry::v1::Hello hello;
  hello.set_node_name(name);
  hello.set_agent_version("0.2.0");
  for (const std::string& address : addresses) {
    auto* a = hello.add_addresses();
    a->set_interface("eth0");
    a->set_address(address);
    a->set_prefix_length(24);
  }
  return hello;
}

ferry::v1::Hello CurrentHello(const std::string& name, const std::vector<std::string>& addresses) {
  ferry::v1::Hello hello = OldHello(name, addresses);
  hello.set_agent_version("0.3.0");
  hello.add_capabilities(ferry::v1::CAPABILITY_CONFIG_DELTA);
  hello.add_capabilities(ferry::v1::CAPABILITY_DATA_PATH_PROBE);
  return hello;
}

ferry::v1::Object Forward(const std::string& name, uint32_t port) {
  ferry::v1::Object o;
  auto* f = o.mutable_ip_forward();
  f->set_api_version("ferry.dev/v1");
  f->set_kind("IPForward");
  f->mutable_metadata()->set_name(name);
  f->mutable_metadata()->set_generation(1);
  auto* spec = f->mutable_spec();
  spec->mutable_frontend()->set_node_name("node-a");
  spec->mutable_frontend()->set_address("192.0.2.1");
  spec->mutable_backend()->set_node_name("node-b");
  spec->mutable_backend()->set_address("10.8.0.2");
  spec->set_source_ip(ferry::v1::PRESERVE);
  auto* p = spec->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(port);
  p->set_target_port(8080);
  return o;
}

class VersionSkewTest : public ::testing::Test {
 protected:
  VersionSkewTest() : fleet_(&store_, Options()) {}

  FleetReconciler::Options Options() {
    FleetReconciler::Options options;
    options.clock = [this] { return now_; };
    return options;
  }

  void Put(const ferry::v1::Object& object) {
    WriteOp op;
    op.kind = kKindIPForward;
    op.name = object.ip_forward().metadata().name();
    op.value = EncodeForStore(object);
    ASSERT_TRUE(store_.Commit({op}).ok());
  }
  void Reconcile() { ASSERT_TRUE(fleet_.ReconcileOnce().ok()); }
  static ferry::v1::ConfigAck AckOf(const ferry::v1::ConfigPush& push) {
    return api::AckFor(push.has_delta() ? push.delta().version() : push.config().version(),
                       push.nonce(), absl::OkStatus());
  }
  ferry::v1::Condition ConditionOf(const std::string& forward, const std::string& type) {
    ferry::v1::IPForwardStatus status = PublishedStatus(fleet_.statuses(), forward);
    for (const ferry::v1::Condition& c : status.conditions()) {
      if (c.type() == type) return c;
    }
    return ferry::v1::Condition();
  }

  // node-a runs a 0.2 agent (the frontend); node-b a current one. Both
  // have ACKed their first push.
  void ConnectMixedFleet() {
    Put(Forward("web", 80));
    a_ = fleet_.Connect("node-a", OldHello("node-a", {"192.0.2.1", "10.8.0.1"}), &sink_a_);
    b_ = fleet_.Connect("node-b", CurrentHello("node-b", {"10.8.0.2"}), &sink_b_);
    Reconcile();
    ASSERT_EQ(sink_a_.count(), 1);
    ASSERT_EQ(sink_b_.count(), 1);
    fleet_.OnAck(a_, AckOf(sink_a_.last()));
    fleet_.OnAck(b_, AckOf(sink_b_.last()));
    Reconcile();
  }

  MemoryStore store_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  FleetReconciler fleet_;
  RecordingPushSink sink_a_, sink_b_;
  SessionHandle* a_ = nullptr;
  SessionHandle* b_ = nullptr;
};

TEST_F(VersionSkewTest, AnOlderAgentsForwardsBecomeReadyOnItsAcks) {
  ConnectMixedFleet();
  EXPECT_TRUE(sink_a_.last().has_config());
  EXPECT_EQ(ConditionOf("web", api::kConditionReady).status(), "True");
  absl::StatusOr<StoredObject> node = store_.Get(kKindNode, "node-a");
  ASSERT_TRUE(node.ok()) << node.status();
  absl::StatusOr<ferry::v1::Object> decoded = DecodeStored(*node);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->node().status().agent_version(), "0.2.0");
}

TEST_F(VersionSkewTest, AnOlderAgentGetsEveryChangeAsAFullConfigWhileACurrentOneGetsDeltas) {
  ConnectMixedFleet();
  Put(Forward("api", 81));
  Reconcile();
  ASSERT_EQ(sink_a_.count(), 2);
  ASSERT_EQ(sink_b_.count(), 2);
  EXPECT_TRUE(sink_a_.last().has_config());
  EXPECT_FALSE(sink_a_.last().has_delta());
  EXPECT_EQ(sink_a_.last().config().dnat_size(), 2);  // both forwards, whole
  EXPECT_TRUE(sink_b_.last().has_delta());
  fleet_.OnAck(a_, AckOf(sink_a_.last()));
  fleet_.OnAck(b_, AckOf(sink_b_.last()));
  Reconcile();
  EXPECT_EQ(ConditionOf("api", api::kConditionReady).status(), "True");
  EXPECT_EQ(ConditionOf("web", api::kConditionReady).status(), "True");
}

TEST_F(VersionSkewTest, DataPathVerifiedSaysTheOlderAgentDoesNotProbe) {
  ConnectMixedFleet();
  ferry::v1::Condition verified = ConditionOf("web", api::kConditionDataPathVerified);
  EXPECT_EQ(verified.status(), "Unknown");
  EXPECT_EQ(verified.reason(), api::kReasonNotProbed);
  EXPECT_THAT(verified.message(), HasSubstr("node node-a does not probe (an older version)"));
}

}  // namespace
}  // namespace ferry::controller
