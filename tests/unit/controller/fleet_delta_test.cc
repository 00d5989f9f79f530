// The controller side of incremental pushes: when a node gets a
// NodeConfigDelta instead of its full config, and how it falls back.

#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/lib/config_delta.h"
#include "api/lib/sync_protocol.h"
#include "api/observability/metrics.h"
#include "controller/fleet/fleet_reconciler.h"
#include "controller/planner/planner.h"
#include "controller/store/object_codec.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/unit/api/apply_delta.h"
#include "tests/unit/controller/memory_store.h"
#include "tests/unit/controller/published_status.h"
#include "tests/unit/controller/recording_push_sink.h"
#include "tests/unit/controller/stored_objects.h"

namespace ferry::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// An agent that takes deltas says so in its Hello (CAPABILITY_CONFIG_DELTA).
ferry::v1::Hello HelloOf(const std::string& node, const std::string& address,
                         bool delta_capable = true) {
  ferry::v1::Hello hello;
  hello.set_node_name(node);
  hello.set_agent_version(delta_capable ? "0.2.0" : "0.1.0");
  if (delta_capable) hello.add_capabilities(ferry::v1::CAPABILITY_CONFIG_DELTA);
  auto* a = hello.add_addresses();
  a->set_interface("eth0");
  a->set_address(address);
  a->set_prefix_length(24);
  return hello;
}

// A masquerading forward, so only its frontend node installs anything.
ferry::v1::Object ForwardOn(const std::string& name, const std::string& node,
                            const std::string& address, uint32_t port, int64_t generation = 1) {
  ferry::v1::Object o;
  auto* f = o.mutable_ip_forward();
  f->set_api_version("ferry.dev/v1");
  f->set_kind("IPForward");
  f->mutable_metadata()->set_name(name);
  f->mutable_metadata()->set_generation(generation);
  f->mutable_spec()->mutable_frontend()->set_node_name(node);
  f->mutable_spec()->mutable_frontend()->set_address(address);
  f->mutable_spec()->mutable_backend()->set_address("198.51.100.7");
  f->mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
  auto* p = f->mutable_spec()->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(port);
  return o;
}

// A MemoryStore whose change log can be compacted: it no longer reaches
// back before the given revision.
class CompactingStore : public MemoryStore {
 public:
  absl::StatusOr<std::vector<Change>> ChangesSince(int64_t after, const std::string& kind,
                                                   size_t limit) override {
    if (after < compacted_) return absl::OutOfRangeError("revision compacted");
    return MemoryStore::ChangesSince(after, kind, limit);
  }
  void CompactThrough(int64_t revision) { compacted_ = revision; }

 private:
  std::atomic<int64_t> compacted_{0};
};

class FleetDeltaTest : public ::testing::Test {
 protected:
  FleetDeltaTest() : fleet_(&store_, Options(&registry_)) {}

  static FleetReconciler::Options Options(observability::Registry* registry) {
    FleetReconciler::Options options;
    options.clock = [] { return absl::FromUnixSeconds(1700000000); };
    options.metrics = registry;
    return options;
  }

  void Put(const ferry::v1::Object& object) { ASSERT_TRUE(PutForward(store_, object).ok()); }

  void Remove(const std::string& name) {
    WriteOp op;
    op.type = WriteOp::Type::kDelete;
    op.kind = kKindIPForward;
    op.name = name;
    ASSERT_TRUE(store_.Commit({op}).ok());
  }

  void Reconcile() { ASSERT_TRUE(fleet_.ReconcileOnce().ok()); }

  // The agent's answer to `push`: an ACK, or a NACK with the status's
  // message and NackReason.
  static ferry::v1::ConfigAck AckOf(const ferry::v1::ConfigPush& push,
                                    const absl::Status& applied = absl::OkStatus()) {
    return api::AckFor(push.has_delta() ? push.delta().version() : push.config().version(),
                       push.nonce(), applied);
  }

  // node-a (delta-capable unless told otherwise) holds web and api; node-b
  // holds db. Both have ACKed their first, full push.
  void ConnectAndAck(bool delta_capable = true) {
    Put(ForwardOn("web", "node-a", "192.0.2.1", 80));
    Put(ForwardOn("api", "node-a", "192.0.2.1", 81));
    Put(ForwardOn("db", "node-b", "192.0.2.2", 5432));
    a_ = fleet_.Connect("node-a", HelloOf("node-a", "192.0.2.1", delta_capable), &sink_a_);
    b_ = fleet_.Connect("node-b", HelloOf("node-b", "192.0.2.2", delta_capable), &sink_b_);
    Reconcile();
    fleet_.OnAck(a_, AckOf(sink_a_.last()));
    fleet_.OnAck(b_, AckOf(sink_b_.last()));
    Reconcile();
  }

  // The value of ferry_config_pushes_total{node,kind}; 0 if absent.
  std::string PushCounter(const std::string& node, const std::string& kind) {
    std::string text = registry_.Render();
    std::string prefix =
        absl::StrCat("ferry_config_pushes_total{node=\"", node, "\",kind=\"", kind, "\"} ");
    size_t at = text.find(prefix);
    if (at == std::string::npos) return "0";
    size_t end = text.find('\n', at);
    return text.substr(at + prefix.size(), end - at - prefix.size());
  }

  observability::Registry registry_;
  CompactingStore store_;
  FleetReconciler fleet_;
  RecordingPushSink sink_a_, sink_b_;
  SessionHandle* a_ = nullptr;
  SessionHandle* b_ = nullptr;
};

// Forwards in one state share one status computation per pass; each still
// gets its own status, and the condition counts count every forward. The
// g- forwards differ in nothing but their generation (their node never
// registers).
TEST_F(FleetDeltaTest, ForwardsInOneStateShareAComputationButEachGetsItsOwnStatus) {
  for (int i = 0; i < 20; ++i) {
    Put(ForwardOn(absl::StrCat("f-", i), "node-a", "192.0.2.1", 1000 + i, i % 2 == 0 ? 1 : 2));
  }
  for (int i = 0; i < 4; ++i) {
    Put(ForwardOn(absl::StrCat("g-", i), "node-b", "192.0.2.2", 1000 + i, i % 2 == 0 ? 1 : 2));
  }
  a_ = fleet_.Connect("node-a", HelloOf("node-a", "192.0.2.1"), &sink_a_);
  Reconcile();
  ferry::v1::ConfigAck ack = AckOf(sink_a_.last());
  (*ack.mutable_forward_errors())["f-7"] = "kernel said no: test";
  fleet_.OnAck(a_, ack);
  Reconcile();
  for (int i = 0; i < 20; ++i) {
    const std::string name = absl::StrCat("f-", i);
    ferry::v1::IPForwardStatus status = PublishedStatus(fleet_.statuses(), name);
    EXPECT_EQ(status.observed_generation(), i % 2 == 0 ? 1 : 2) << name;
    bool ready = false;
    std::string message;
    for (const auto& c : status.conditions()) {
      if (c.type() != "Ready") continue;
      ready = c.status() == "True";
      message = c.message();
      EXPECT_EQ(c.observed_generation(), i % 2 == 0 ? 1 : 2) << name;
    }
    EXPECT_EQ(ready, i != 7) << name << ": " << status.DebugString();
    if (i == 7) EXPECT_THAT(message, HasSubstr("kernel said no: test"));
  }
  for (int i = 0; i < 4; ++i) {
    const std::string name = absl::StrCat("g-", i);
    ferry::v1::IPForwardStatus status = PublishedStatus(fleet_.statuses(), name);
    EXPECT_EQ(status.observed_generation(), i % 2 == 0 ? 1 : 2) << name;
    for (const auto& c : status.conditions()) {
      EXPECT_EQ(c.observed_generation(), i % 2 == 0 ? 1 : 2) << name << " " << c.type();
    }
  }
  const std::string text = registry_.Render();
  EXPECT_THAT(text, HasSubstr("ferry_forwards{condition=\"Ready\",status=\"True\"} 19\n"));
  EXPECT_THAT(text, HasSubstr("ferry_forwards{condition=\"Ready\",status=\"False\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("ferry_forwards{condition=\"Accepted\",status=\"True\"} 20\n"));
  EXPECT_THAT(text, HasSubstr("ferry_forwards{condition=\"Accepted\",status=\"False\"} 4\n"));
}

TEST_F(FleetDeltaTest, FirstPushOfAStreamIsTheFullConfig) {
  ConnectAndAck();
  ASSERT_EQ(sink_a_.count(), 1);
  EXPECT_TRUE(sink_a_.last().has_config());
  EXPECT_FALSE(sink_a_.last().has_delta());
  EXPECT_EQ(sink_a_.last().config().dnat_size(), 2);
}

TEST_F(FleetDeltaTest, ChangeAfterAckIsPushedAsDeltaOfTheChangedForwardOnly) {
  ConnectAndAck();
  const std::string acked = sink_a_.last().config().version();
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8080, 2));
  Reconcile();
  ASSERT_EQ(sink_a_.count(), 2);
  ferry::v1::ConfigPush push = sink_a_.last();
  ASSERT_TRUE(push.has_delta());
  EXPECT_FALSE(push.has_config());
  EXPECT_EQ(push.delta().base_version(), acked);
  EXPECT_THAT(push.delta().forwards(), ElementsAre("web"));
  ASSERT_EQ(push.delta().dnat_size(), 1);
  EXPECT_EQ(push.delta().dnat(0).port(), 8080u);
  EXPECT_EQ(push.delta().dnat(0).generation(), 2);
}

TEST_F(FleetDeltaTest, DeltaVersionIsTheVersionOfTheFullConfigItLeadsTo) {
  ConnectAndAck();
  ferry::v1::NodeConfig base = sink_a_.last().config();
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8080, 2));
  Reconcile();
  ferry::v1::NodeConfigDelta delta = sink_a_.last().delta();
  absl::StatusOr<ferry::v1::NodeConfig> after = testing::ApplyDeltaAsAgent(base, delta);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(delta.version(), ConfigVersion(*after));
}

TEST_F(FleetDeltaTest, DeletedForwardIsNamedInTheDeltaWithNoEntries) {
  ConnectAndAck();
  Remove("api");
  Reconcile();
  ferry::v1::ConfigPush push = sink_a_.last();
  ASSERT_TRUE(push.has_delta());
  EXPECT_THAT(push.delta().forwards(), ElementsAre("api"));
  EXPECT_EQ(push.delta().dnat_size(), 0);
}

TEST_F(FleetDeltaTest, AgentWithoutTheDeltaCapabilityGetsFullConfigs) {
  ConnectAndAck(/*delta_capable=*/false);
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8080, 2));
  Reconcile();
  ASSERT_EQ(sink_a_.count(), 2);
  EXPECT_TRUE(sink_a_.last().has_config());
  EXPECT_FALSE(sink_a_.last().has_delta());
}

TEST_F(FleetDeltaTest, ChangeWhileAPushIsUnackedIsPushedFull) {
  ConnectAndAck();
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8080, 2));
  Reconcile();  // a delta, not ACKed yet
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8081, 3));
  Reconcile();
  ASSERT_EQ(sink_a_.count(), 3);
  EXPECT_TRUE(sink_a_.last().has_config());
  EXPECT_EQ(sink_a_.last().config().dnat_size(), 2);
}

TEST_F(FleetDeltaTest, ChangeAfterANackIsPushedFull) {
  ConnectAndAck();
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8080, 2));
  Reconcile();
  fleet_.OnAck(
      a_, AckOf(sink_a_.last(), absl::PermissionDeniedError("nftables: Operation not permitted")));
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8081, 3));
  Reconcile();
  ASSERT_EQ(sink_a_.count(), 3);
  EXPECT_TRUE(sink_a_.last().has_config());
}

TEST_F(FleetDeltaTest, BaseVersionMismatchNackGetsTheSameVersionInFull) {
  ConnectAndAck();
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8080, 2));
  Reconcile();
  ferry::v1::ConfigPush delta = sink_a_.last();
  fleet_.OnAck(a_, AckOf(delta, api::BaseVersionMismatch("applied 1234, delta base 5678")));
  Reconcile();
  ASSERT_EQ(sink_a_.count(), 3);
  ferry::v1::ConfigPush full = sink_a_.last();
  ASSERT_TRUE(full.has_config());
  EXPECT_EQ(full.config().version(), delta.delta().version());
  EXPECT_NE(full.nonce(), delta.nonce());
}

TEST_F(FleetDeltaTest, BaseVersionMismatchIsNotReportedAsAnApplyFailure) {
  ConnectAndAck();
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8080, 2));
  Reconcile();
  fleet_.OnAck(a_, AckOf(sink_a_.last(), api::BaseVersionMismatch("applied 1, base 2")));
  Reconcile();
  EXPECT_THAT(registry_.Render(), Not(HasSubstr("ferry_apply_failures_total{node=\"node-a\"}")));
}

TEST_F(FleetDeltaTest, AckOfTheFullFallbackMakesTheNextChangeADeltaAgain) {
  ConnectAndAck();
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8080, 2));
  Reconcile();
  fleet_.OnAck(a_, AckOf(sink_a_.last(), api::BaseVersionMismatch("applied 1, base 2")));
  Reconcile();
  fleet_.OnAck(a_, AckOf(sink_a_.last()));
  Put(ForwardOn("api", "node-a", "192.0.2.1", 9090, 2));
  Reconcile();
  ASSERT_EQ(sink_a_.count(), 4);
  EXPECT_TRUE(sink_a_.last().has_delta());
  EXPECT_THAT(sink_a_.last().delta().forwards(), ElementsAre("api"));
}

TEST_F(FleetDeltaTest, PushCounterMovesOnlyForTheAffectedNodeAndKind) {
  ConnectAndAck();
  EXPECT_EQ(PushCounter("node-a", kPushFull), "1");
  EXPECT_EQ(PushCounter("node-b", kPushFull), "1");
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8080, 2));
  Reconcile();
  EXPECT_EQ(PushCounter("node-a", kPushDelta), "1");
  EXPECT_EQ(PushCounter("node-a", kPushFull), "1");
  EXPECT_EQ(PushCounter("node-b", kPushDelta), "0");
  EXPECT_EQ(PushCounter("node-b", kPushFull), "1");
  EXPECT_EQ(sink_b_.count(), 1);
}

TEST_F(FleetDeltaTest, PassReListsTheStoreWhenTheChangeLogNoLongerReachesBack) {
  ConnectAndAck();
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8080, 2));
  store_.CompactThrough(store_.CurrentRevision());
  Reconcile();
  ASSERT_EQ(sink_a_.count(), 2);
  ferry::v1::ConfigPush push = sink_a_.last();
  ASSERT_TRUE(push.has_delta());
  EXPECT_THAT(push.delta().forwards(), ElementsAre("web"));
  EXPECT_EQ(push.delta().dnat(0).port(), 8080u);
}

TEST_F(FleetDeltaTest, ForwardDeletedAndCreatedAgainIsPushedAsTwoDeltas) {
  ConnectAndAck();
  Remove("web");
  Reconcile();
  ASSERT_TRUE(sink_a_.last().has_delta());
  EXPECT_THAT(sink_a_.last().delta().forwards(), ElementsAre("web"));
  fleet_.OnAck(a_, AckOf(sink_a_.last()));
  Put(ForwardOn("web", "node-a", "192.0.2.1", 80, 1));
  Reconcile();
  ASSERT_EQ(sink_a_.count(), 3);
  ASSERT_TRUE(sink_a_.last().has_delta());
  EXPECT_THAT(sink_a_.last().delta().forwards(), ElementsAre("web"));
  EXPECT_EQ(sink_a_.last().delta().dnat_size(), 1);
}

TEST_F(FleetDeltaTest, DeltaNoSmallerThanTheFullConfigIsSentAsTheFullConfig) {
  ConnectAndAck();
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8080, 2));
  Put(ForwardOn("api", "node-a", "192.0.2.1", 8081, 2));
  Reconcile();
  ASSERT_EQ(sink_a_.count(), 2);
  EXPECT_TRUE(sink_a_.last().has_config());
}

// A controller that restarts finds every agent holding the config it plans
// again: each Hello says so, and the config is adopted as ACKed, not pushed.
TEST_F(FleetDeltaTest, ARestartedControllerAdoptsTheConfigAgentsSayTheyApplied) {
  ConnectAndAck();
  const std::string applied_a = sink_a_.last().config().version();
  const std::string applied_b = sink_b_.last().config().version();
  observability::Registry registry;
  FleetReconciler restarted(&store_, Options(&registry));
  RecordingPushSink a, b;
  ferry::v1::Hello hello_a = HelloOf("node-a", "192.0.2.1");
  hello_a.set_last_applied_version(applied_a);
  (*hello_a.mutable_last_applied_forward_errors())["api"] = "kernel lacks IPv6 support: test";
  ferry::v1::Hello hello_b = HelloOf("node-b", "192.0.2.2");
  hello_b.set_last_applied_version(applied_b);
  SessionHandle* ha = restarted.Connect("node-a", hello_a, &a);
  SessionHandle* hb = restarted.Connect("node-b", hello_b, &b);
  ASSERT_TRUE(restarted.ReconcileOnce().ok());
  EXPECT_EQ(a.count(), 0);
  EXPECT_EQ(b.count(), 0);
  // Ready at once, and the failure the agent reported stands.
  auto ready = [&](const std::string& name) {
    EXPECT_TRUE(store_.Get(kKindIPForward, name).ok()) << name;
    const ferry::v1::IPForwardStatus status = PublishedStatus(restarted.statuses(), name);
    for (const ferry::v1::Condition& c : status.conditions()) {
      if (c.type() == "Ready") return c.status() + "/" + c.reason();
    }
    return std::string("none");
  };
  EXPECT_THAT(ready("web"), ::testing::StartsWith("True/"));
  EXPECT_THAT(ready("db"), ::testing::StartsWith("True/"));
  EXPECT_THAT(ready("api"), ::testing::StartsWith("False/"));
  // The next change goes as a delta on the adopted version.
  Put(ForwardOn("web", "node-a", "192.0.2.1", 8080, 2));
  ASSERT_TRUE(restarted.ReconcileOnce().ok());
  ASSERT_EQ(a.count(), 1);
  ASSERT_TRUE(a.last().has_delta());
  EXPECT_EQ(a.last().delta().base_version(), applied_a);
  restarted.Disconnect(ha);
  restarted.Disconnect(hb);
}

TEST_F(FleetDeltaTest, AHelloWithAnotherAppliedVersionGetsTheFullConfig) {
  ConnectAndAck();
  observability::Registry registry;
  FleetReconciler restarted(&store_, Options(&registry));
  RecordingPushSink a;
  ferry::v1::Hello hello = HelloOf("node-a", "192.0.2.1");
  hello.set_last_applied_version("not-the-planned-version");
  SessionHandle* h = restarted.Connect("node-a", hello, &a);
  ASSERT_TRUE(restarted.ReconcileOnce().ok());
  ASSERT_EQ(a.count(), 1);
  EXPECT_TRUE(a.last().has_config());
  restarted.Disconnect(h);
}

}  // namespace
}  // namespace ferry::controller
