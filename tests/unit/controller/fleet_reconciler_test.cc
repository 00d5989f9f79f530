#include "controller/fleet/fleet_reconciler.h"

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "controller/store/object_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/memory_store.h"
#include "tests/unit/controller/published_status.h"
#include "tests/unit/controller/recording_push_sink.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

ferry::v1::Hello MakeHello(const std::string& name,
                           std::vector<std::pair<std::string, uint32_t>> addresses) {
  ferry::v1::Hello hello;
  hello.set_node_name(name);
  hello.set_agent_version("0.1.0");
  (*hello.mutable_labels())["zone"] = "fra1";
  for (const auto& [address, prefix] : addresses) {
    auto* a = hello.add_addresses();
    a->set_interface("eth0");
    a->set_address(address);
    a->set_prefix_length(prefix);
  }
  return hello;
}

ferry::v1::Object MakeForward(const std::string& name, const std::string& fe_node,
                              const std::string& fe_addr, const std::string& be_node,
                              const std::string& be_addr, ferry::v1::SourceIP source_ip) {
  ferry::v1::Object o;
  auto* f = o.mutable_ip_forward();
  f->set_api_version("ferry.dev/v1");
  f->set_kind("IPForward");
  f->mutable_metadata()->set_name(name);
  f->mutable_metadata()->set_generation(1);
  f->mutable_spec()->mutable_frontend()->set_node_name(fe_node);
  f->mutable_spec()->mutable_frontend()->set_address(fe_addr);
  f->mutable_spec()->mutable_backend()->set_node_name(be_node);
  f->mutable_spec()->mutable_backend()->set_address(be_addr);
  f->mutable_spec()->set_source_ip(source_ip);
  auto* p = f->mutable_spec()->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(80);
  return o;
}

class FleetReconcilerTest : public ::testing::Test {
 protected:
  FleetReconcilerTest() : FleetReconcilerTest(absl::ZeroDuration()) {}
  explicit FleetReconcilerTest(absl::Duration pending_grace)
      : fleet_(&store_, Options(pending_grace)) {}

  // The clock is now_, which only tests that never start the loop move.
  FleetReconciler::Options Options(absl::Duration pending_grace) {
    FleetReconciler::Options options;
    options.clock = [this] { return now_; };
    options.pending_grace = pending_grace;
    return options;
  }

  void Put(const ferry::v1::Object& object) {
    WriteOp op;
    op.kind = object.has_node() ? kKindNode : kKindIPForward;
    op.name = MetaOf(object).name();
    op.value = EncodeForStore(object);
    ASSERT_TRUE(store_.Commit({op}).ok());
  }

  template <typename T>
  T Read(const char* kind, const std::string& name) {
    absl::StatusOr<StoredObject> stored = store_.Get(kind, name);
    EXPECT_TRUE(stored.ok()) << stored.status();
    if (!stored.ok()) return T();
    absl::StatusOr<ferry::v1::Object> o = DecodeStored(*stored);
    if constexpr (std::is_same_v<T, ferry::v1::Node>) {
      return o->node();
    } else {
      ferry::v1::IPForward forward = o->ip_forward();
      *forward.mutable_status() = PublishedStatus(fleet_.statuses(), name);
      return forward;
    }
  }

  ferry::v1::IPForward Forward(const std::string& name) {
    return Read<ferry::v1::IPForward>(kKindIPForward, name);
  }
  ferry::v1::Node NodeObject(const std::string& name) {
    return Read<ferry::v1::Node>(kKindNode, name);
  }

  static const ferry::v1::Condition& Find(
      const google::protobuf::RepeatedPtrField<ferry::v1::Condition>& cs, const std::string& type) {
    for (const auto& c : cs) {
      if (c.type() == type) return c;
    }
    return ferry::v1::Condition::default_instance();
  }

  void Reconcile() { ASSERT_TRUE(fleet_.ReconcileOnce().ok()); }

  ferry::v1::ConfigAck AckOf(RecordingPushSink& sink, bool accepted = true,
                             std::string error = "") {
    ferry::v1::ConfigAck ack;
    ack.set_nonce(sink.last().nonce());
    ack.set_version(sink.last().config().version());
    ack.set_accepted(accepted);
    ack.set_error(std::move(error));
    return ack;
  }

  // node-a: frontend with public 192.0.2.1 and tunnel 10.8.0.1/24;
  // node-b: backend on the tunnel; web forwards a -> b preserving sources.
  void ConnectWebFleet() {
    Put(MakeForward("web", "node-a", "192.0.2.1", "node-b", "10.8.0.2", ferry::v1::PRESERVE));
    a_ = fleet_.Connect("node-a", MakeHello("node-a", {{"192.0.2.1", 24}, {"10.8.0.1", 24}}),
                        &sink_a_);
    b_ = fleet_.Connect("node-b", MakeHello("node-b", {{"10.8.0.2", 24}}), &sink_b_);
    Reconcile();
  }

  // Forward Many(i) on node-a's port 1000 + i, for i < n, and node-a
  // connected: more forwards than one status round holds.
  static std::string Many(int i) { return absl::StrFormat("web-%04d", i); }
  void ConnectManyForwards(int n) {
    for (int i = 0; i < n; ++i) {
      ferry::v1::Object o =
          MakeForward(Many(i), "node-a", "192.0.2.1", "", "198.51.100.7", ferry::v1::MASQUERADE);
      o.mutable_ip_forward()->mutable_spec()->mutable_ports(0)->set_port(1000 + i);
      Put(o);
    }
    a_ = fleet_.Connect("node-a", MakeHello("node-a", {{"192.0.2.1", 24}}), &sink_a_);
  }

  MemoryStore store_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  FleetReconciler fleet_;
  RecordingPushSink sink_a_, sink_b_, sink_c_;
  SessionHandle* a_ = nullptr;
  SessionHandle* b_ = nullptr;
};

TEST_F(FleetReconcilerTest, HelloRegistersNodeWithAddressesLabelsAndConnected) {
  fleet_.Connect("node-a", MakeHello("node-a", {{"192.0.2.1", 24}}), &sink_a_);
  Reconcile();
  ferry::v1::Node node = NodeObject("node-a");
  EXPECT_EQ(node.kind(), "Node");
  EXPECT_FALSE(node.metadata().uid().empty());
  EXPECT_EQ(node.metadata().generation(), 1);
  EXPECT_TRUE(node.metadata().has_creation_timestamp());
  EXPECT_EQ(node.metadata().labels().at("zone"), "fra1");
  ASSERT_EQ(node.status().addresses_size(), 1);
  EXPECT_EQ(node.status().addresses(0).address(), "192.0.2.1");
  EXPECT_EQ(node.status().agent_version(), "0.1.0");
  EXPECT_EQ(Find(node.status().conditions(), "Connected").status(), "True");
}

TEST_F(FleetReconcilerTest, AnOperatorsLabelsGoOverTheAgentsAndSurviveItsHellos) {
  fleet_.Connect("node-a", MakeHello("node-a", {{"192.0.2.1", 24}}), &sink_a_);
  Reconcile();
  // What `ferryctl label node node-a zone=ams3 tier=edge` writes: the
  // stored node with its spec.labels changed.
  ferry::v1::Object labelled;
  *labelled.mutable_node() = NodeObject("node-a");
  (*labelled.mutable_node()->mutable_spec()->mutable_labels())["zone"] = "ams3";
  (*labelled.mutable_node()->mutable_spec()->mutable_labels())["tier"] = "edge";
  Put(labelled);
  Reconcile();
  ferry::v1::Node node = NodeObject("node-a");
  EXPECT_EQ(node.status().agent_labels().at("zone"), "fra1");
  EXPECT_EQ(node.metadata().labels().at("zone"), "ams3");
  EXPECT_EQ(node.metadata().labels().at("tier"), "edge");
  // The agent says hello again with its own labels: the operator's stay.
  fleet_.Connect("node-a", MakeHello("node-a", {{"192.0.2.1", 24}}), &sink_a_);
  Reconcile();
  node = NodeObject("node-a");
  EXPECT_EQ(node.metadata().labels().at("zone"), "ams3");
  EXPECT_EQ(node.metadata().labels().at("tier"), "edge");
  // Removed by the operator: the agent's value shows again.
  labelled.mutable_node()->mutable_spec()->mutable_labels()->erase("zone");
  *labelled.mutable_node()->mutable_status() = node.status();
  Put(labelled);
  Reconcile();
  node = NodeObject("node-a");
  EXPECT_EQ(node.metadata().labels().at("zone"), "fra1");
  EXPECT_EQ(node.metadata().labels().at("tier"), "edge");
}

TEST_F(FleetReconcilerTest, DisconnectMarksNodeNotConnected) {
  SessionHandle* h = fleet_.Connect("node-a", MakeHello("node-a", {{"192.0.2.1", 24}}), &sink_a_);
  Reconcile();
  std::string uid = NodeObject("node-a").metadata().uid();
  fleet_.Disconnect(h);
  Reconcile();
  ferry::v1::Node node = NodeObject("node-a");
  EXPECT_EQ(Find(node.status().conditions(), "Connected").status(), "False");
  EXPECT_EQ(node.metadata().uid(), uid);
}

TEST_F(FleetReconcilerTest, ConnectGetsFullConfigPush) {
  ConnectWebFleet();
  ASSERT_EQ(sink_a_.count(), 1);
  ferry::v1::ConfigPush push = sink_a_.last();
  EXPECT_FALSE(push.nonce().empty());
  EXPECT_EQ(push.config().version(), ConfigVersion(push.config()));
  ASSERT_EQ(push.config().dnat_size(), 1);
  EXPECT_EQ(push.config().dnat(0).forward(), "web");
  ASSERT_EQ(sink_b_.count(), 1);
  ASSERT_EQ(sink_b_.last().config().return_routes_size(), 1);
  EXPECT_EQ(sink_b_.last().config().return_routes(0).via(), "10.8.0.1");
}

TEST_F(FleetReconcilerTest, UnchangedConfigIsNotPushedAgain) {
  ConnectWebFleet();
  Reconcile();
  EXPECT_EQ(sink_a_.count(), 1);
  EXPECT_EQ(sink_b_.count(), 1);
}

TEST_F(FleetReconcilerTest, ChangePushesOnlyToAffectedNode) {
  ConnectWebFleet();
  fleet_.Connect("node-c", MakeHello("node-c", {{"192.0.2.3", 24}}), &sink_c_);
  Reconcile();
  ASSERT_EQ(sink_c_.count(), 1);
  Put(MakeForward("cache", "node-c", "192.0.2.3", "", "198.51.100.7", ferry::v1::MASQUERADE));
  Reconcile();
  EXPECT_EQ(sink_c_.count(), 2);
  EXPECT_EQ(sink_c_.last().config().dnat(0).forward(), "cache");
  EXPECT_EQ(sink_a_.count(), 1);
  EXPECT_EQ(sink_b_.count(), 1);
}

TEST_F(FleetReconcilerTest, NoncesIncreasePerSession) {
  ConnectWebFleet();
  std::string first = sink_a_.last().nonce();
  Put(MakeForward("api", "node-a", "192.0.2.1", "", "198.51.100.7", ferry::v1::MASQUERADE));
  Reconcile();
  ASSERT_EQ(sink_a_.count(), 2);
  EXPECT_NE(sink_a_.last().nonce(), first);
}

TEST_F(FleetReconcilerTest, ForwardIsPendingUntilAcked) {
  ConnectWebFleet();
  ferry::v1::IPForward web = Forward("web");
  EXPECT_EQ(Find(web.status().conditions(), "Accepted").status(), "True");
  EXPECT_EQ(Find(web.status().conditions(), "Ready").reason(), "Pending");
  EXPECT_EQ(web.status().return_via(), "10.8.0.1");
}

TEST_F(FleetReconcilerTest, EachForwardsStatusNamesItsOwnFrontendAddress) {
  // Alike but for their address, and new in one pass: no status of one
  // stands in for the other's.
  Put(MakeForward("api", "node-a", "192.0.2.1", "", "198.51.100.7", ferry::v1::MASQUERADE));
  Put(MakeForward("www", "node-a", "192.0.2.9", "", "198.51.100.7", ferry::v1::MASQUERADE));
  a_ = fleet_.Connect("node-a", MakeHello("node-a", {{"192.0.2.1", 24}, {"192.0.2.9", 24}}),
                      &sink_a_);
  Reconcile();
  const ferry::v1::IPForward api = Forward("api");
  const ferry::v1::IPForward www = Forward("www");
  ASSERT_EQ(api.status().nodes_size(), 1);
  ASSERT_EQ(www.status().nodes_size(), 1);
  EXPECT_EQ(api.status().nodes(0).address(), "192.0.2.1");
  EXPECT_EQ(www.status().nodes(0).address(), "192.0.2.9");
}

class FleetPendingGraceTest : public FleetReconcilerTest {
 protected:
  FleetPendingGraceTest() : FleetReconcilerTest(absl::Seconds(2)) {}
};

TEST_F(FleetPendingGraceTest, AnAckWithinTheGraceMakesTheForwardReadyInOneWrite) {
  ConnectWebFleet();
  // Pushed to both nodes and in flight: nothing is written yet.
  EXPECT_TRUE(Forward("web").status().conditions().empty());
  now_ += absl::Seconds(1);
  fleet_.OnAck(a_, AckOf(sink_a_));
  fleet_.OnAck(b_, AckOf(sink_b_));
  const int64_t before = store_.CurrentRevision();
  Reconcile();
  ferry::v1::IPForward web = Forward("web");
  EXPECT_EQ(Find(web.status().conditions(), "Ready").status(), "True");
  EXPECT_EQ(Find(web.status().conditions(), "Accepted").status(), "True");
  // One publication, naming the forward once: Ready, with no Pending before.
  absl::StatusOr<std::vector<Change>> changes =
      store_.ChangesSince(before, ForwardStatuses::kMarkerKind, 100);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 1u);
  auto named = fleet_.statuses().ChangedAt(changes->front().object.revision);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_THAT(**named, ::testing::ElementsAre("web"));
}

TEST_F(FleetPendingGraceTest, PendingIsWrittenOnceTheGraceEnds) {
  ConnectWebFleet();
  fleet_.OnAck(a_, AckOf(sink_a_));  // node-b stays silent
  now_ += absl::Seconds(1);
  Reconcile();
  EXPECT_TRUE(Forward("web").status().conditions().empty());
  now_ += absl::Seconds(1);
  Reconcile();
  ferry::v1::IPForward web = Forward("web");
  EXPECT_EQ(Find(web.status().conditions(), "Ready").reason(), "Pending");
  EXPECT_EQ(web.status().nodes(0).state(), "Applied");
  EXPECT_EQ(web.status().nodes(1).state(), "Pending");
}

TEST_F(FleetPendingGraceTest, ANackIsWrittenAtOnce) {
  ConnectWebFleet();
  fleet_.OnAck(a_, AckOf(sink_a_, false, "nftables: Operation not permitted"));
  Reconcile();
  EXPECT_EQ(Find(Forward("web").status().conditions(), "Ready").reason(), "ApplyFailed");
}

TEST_F(FleetPendingGraceTest, ANodeThatWasNotSentThePushIsPendingAtOnce) {
  ConnectWebFleet();
  fleet_.OnAck(a_, AckOf(sink_a_));
  fleet_.OnAck(b_, AckOf(sink_b_));
  Reconcile();
  // node-b goes away; a new generation cannot reach it.
  fleet_.Disconnect(b_);
  ferry::v1::Object changed =
      MakeForward("web", "node-a", "192.0.2.1", "node-b", "10.8.0.2", ferry::v1::PRESERVE);
  changed.mutable_ip_forward()->mutable_metadata()->set_generation(2);
  changed.mutable_ip_forward()->mutable_spec()->mutable_ports(0)->set_target_port(8080);
  Put(changed);
  Reconcile();
  ferry::v1::IPForward web = Forward("web");
  EXPECT_EQ(web.status().observed_generation(), 2);
  EXPECT_EQ(Find(web.status().conditions(), "Ready").reason(), "Pending");
}

TEST_F(FleetReconcilerTest, AcksFromAllInvolvedNodesMakeForwardReady) {
  ConnectWebFleet();
  fleet_.OnAck(a_, AckOf(sink_a_));
  fleet_.OnAck(b_, AckOf(sink_b_));
  Reconcile();
  ferry::v1::IPForward web = Forward("web");
  EXPECT_EQ(Find(web.status().conditions(), "Ready").status(), "True");
  ASSERT_EQ(web.status().nodes_size(), 2);
  EXPECT_EQ(web.status().nodes(0).state(), "Applied");
  EXPECT_EQ(web.status().nodes(1).state(), "Applied");
  EXPECT_EQ(web.status().nodes(1).applied_generation(), 1);
  EXPECT_EQ(web.status().observed_generation(), 1);
  EXPECT_EQ(web.metadata().generation(), 1);
  EXPECT_EQ(NodeObject("node-a").status().applied_config_version(),
            sink_a_.last().config().version());
}

TEST_F(FleetReconcilerTest, UnchangedStatusIsNotWrittenAgain) {
  ConnectWebFleet();
  fleet_.OnAck(a_, AckOf(sink_a_));
  fleet_.OnAck(b_, AckOf(sink_b_));
  Reconcile();
  int commits = store_.commits();
  Reconcile();
  EXPECT_EQ(store_.commits(), commits);
}

TEST_F(FleetReconcilerTest, AckWithStaleNonceIsIgnored) {
  ConnectWebFleet();
  fleet_.OnAck(a_, AckOf(sink_a_));
  ferry::v1::ConfigAck stale = AckOf(sink_b_);
  stale.set_nonce(stale.nonce() + "0");
  fleet_.OnAck(b_, stale);
  Reconcile();
  ferry::v1::IPForward web = Forward("web");
  EXPECT_EQ(Find(web.status().conditions(), "Ready").reason(), "Pending");
  EXPECT_EQ(web.status().nodes(1).state(), "Pending");
}

TEST_F(FleetReconcilerTest, NackMarksNodeFailedWithTheAgentsError) {
  ConnectWebFleet();
  fleet_.OnAck(a_, AckOf(sink_a_, false, "nftables: Operation not permitted"));
  fleet_.OnAck(b_, AckOf(sink_b_));
  Reconcile();
  ferry::v1::IPForward web = Forward("web");
  const ferry::v1::Condition& ready = Find(web.status().conditions(), "Ready");
  EXPECT_EQ(ready.reason(), "ApplyFailed");
  EXPECT_THAT(ready.message(), HasSubstr("node-a"));
  EXPECT_EQ(web.status().nodes(0).state(), "Failed");
  EXPECT_EQ(web.status().nodes(0).message(), "nftables: Operation not permitted");
}

TEST_F(FleetReconcilerTest, SecondStreamForNodeReplacesFirstAndGetsFullConfig) {
  ConnectWebFleet();
  RecordingPushSink second;
  fleet_.Connect("node-a", MakeHello("node-a", {{"192.0.2.1", 24}, {"10.8.0.1", 24}}), &second);
  ASSERT_TRUE(sink_a_.closed().has_value());
  EXPECT_EQ(sink_a_.closed()->code(), absl::StatusCode::kAborted);
  Reconcile();
  EXPECT_EQ(second.count(), 1);
  EXPECT_EQ(second.last().config().version(), sink_a_.last().config().version());
  EXPECT_EQ(sink_a_.count(), 1);
  // The replaced stream's ACK no longer counts.
  fleet_.OnAck(a_, AckOf(sink_a_));
  fleet_.OnAck(b_, AckOf(sink_b_));
  Reconcile();
  EXPECT_EQ(Forward("web").status().nodes(0).state(), "Pending");
}

TEST_F(FleetReconcilerTest, AddressUpdateCanMakeForwardAccepted) {
  Put(MakeForward("web", "node-a", "192.0.2.1", "", "198.51.100.7", ferry::v1::MASQUERADE));
  SessionHandle* a = fleet_.Connect("node-a", MakeHello("node-a", {{"10.8.0.1", 24}}), &sink_a_);
  Reconcile();
  EXPECT_EQ(Find(Forward("web").status().conditions(), "Accepted").reason(), "AddressNotOnNode");
  EXPECT_EQ(sink_a_.last().config().dnat_size(), 0);
  ferry::v1::AddressUpdate update;
  auto* address = update.add_addresses();
  address->set_address("192.0.2.1");
  address->set_prefix_length(24);
  fleet_.OnAddresses(a, update);
  Reconcile();
  EXPECT_EQ(Find(Forward("web").status().conditions(), "Accepted").status(), "True");
  EXPECT_EQ(sink_a_.last().config().dnat_size(), 1);
  EXPECT_EQ(NodeObject("node-a").status().addresses(0).address(), "192.0.2.1");
}

ferry::v1::AddressUpdate RouteSourceUpdate(
    std::vector<std::pair<std::string, uint32_t>> addresses,
    std::vector<std::pair<std::string, std::string>> sources) {
  ferry::v1::AddressUpdate update;
  *update.mutable_addresses() = MakeHello("", std::move(addresses)).addresses();
  for (const auto& [destination, source] : sources) {
    auto* r = update.add_route_sources();
    r->set_destination(destination);
    r->set_source(source);
    r->set_interface("wg0");
  }
  return update;
}

// The store's Node changes (what watchers and `ferryctl get node` see).
size_t NodeWritesSince(Store& store, int64_t revision) {
  absl::StatusOr<std::vector<Change>> changes = store.ChangesSince(revision, kKindNode, 100);
  EXPECT_TRUE(changes.ok()) << changes.status();
  return changes.ok() ? changes->size() : 0;
}

TEST_F(FleetReconcilerTest, RouteSourcesAloneChangingRewriteTheNode) {
  ConnectWebFleet();
  const auto kAddresses =
      std::vector<std::pair<std::string, uint32_t>>{{"192.0.2.1", 24}, {"10.8.0.1", 24}};
  int64_t before = store_.CurrentRevision();
  fleet_.OnAddresses(a_, RouteSourceUpdate(kAddresses, {{"10.8.0.2", "10.8.0.1"}}));
  Reconcile();
  EXPECT_EQ(NodeWritesSince(store_, before), 1u);
  ferry::v1::Node node = NodeObject("node-a");
  ASSERT_EQ(node.status().route_sources_size(), 1);
  EXPECT_EQ(node.status().route_sources(0).destination(), "10.8.0.2");
  EXPECT_EQ(node.status().route_sources(0).source(), "10.8.0.1");
  EXPECT_EQ(node.status().route_sources(0).interface(), "wg0");
  EXPECT_EQ(node.status().addresses_size(), 2);

  // The route moved to another hop; the addresses are as they were.
  before = store_.CurrentRevision();
  fleet_.OnAddresses(a_, RouteSourceUpdate(kAddresses, {{"10.8.0.2", "192.0.2.1"}}));
  Reconcile();
  EXPECT_EQ(NodeWritesSince(store_, before), 1u);
  EXPECT_EQ(NodeObject("node-a").status().route_sources(0).source(), "192.0.2.1");

  // The same list again: nothing to write.
  before = store_.CurrentRevision();
  fleet_.OnAddresses(a_, RouteSourceUpdate(kAddresses, {{"10.8.0.2", "192.0.2.1"}}));
  Reconcile();
  EXPECT_EQ(NodeWritesSince(store_, before), 0u);
}

TEST_F(FleetReconcilerTest, EachAddressUpdateReplacesTheWholeRouteSourceList) {
  ConnectWebFleet();
  fleet_.OnAddresses(a_, RouteSourceUpdate({{"10.8.0.1", 24}},
                                           {{"10.8.0.2", "10.8.0.1"}, {"10.8.0.3", "10.8.0.1"}}));
  Reconcile();
  EXPECT_EQ(NodeObject("node-a").status().route_sources_size(), 2);
  fleet_.OnAddresses(a_, RouteSourceUpdate({{"10.8.0.1", 24}}, {{"10.8.0.3", "10.8.0.1"}}));
  Reconcile();
  ferry::v1::Node node = NodeObject("node-a");
  ASSERT_EQ(node.status().route_sources_size(), 1);
  EXPECT_EQ(node.status().route_sources(0).destination(), "10.8.0.3");
  // No forward needs one any more: an empty list clears them.
  fleet_.OnAddresses(a_, RouteSourceUpdate({{"10.8.0.1", 24}}, {}));
  Reconcile();
  EXPECT_EQ(NodeObject("node-a").status().route_sources_size(), 0);
}

TEST_F(FleetReconcilerTest, AHelloKeepsTheRouteSourcesUntilTheAgentSendsItsOwn) {
  ConnectWebFleet();
  fleet_.OnAddresses(a_, RouteSourceUpdate({{"10.8.0.1", 24}}, {{"10.8.0.2", "10.8.0.1"}}));
  Reconcile();
  // The agent reconnects: its Hello has no field for them.
  a_ = fleet_.Connect("node-a", MakeHello("node-a", {{"10.8.0.1", 24}}), &sink_c_);
  Reconcile();
  EXPECT_EQ(NodeObject("node-a").status().route_sources_size(), 1);

  // A restarted controller has only the stored Node's until the agent's
  // AddressUpdate after its Hello.
  FleetReconciler restarted(&store_, Options(absl::ZeroDuration()));
  RecordingPushSink sink;
  SessionHandle* a = restarted.Connect("node-a", MakeHello("node-a", {{"10.8.0.1", 24}}), &sink);
  ASSERT_TRUE(restarted.ReconcileOnce().ok());
  EXPECT_EQ(NodeObject("node-a").status().route_sources(0).source(), "10.8.0.1");
  restarted.OnAddresses(a, RouteSourceUpdate({{"10.8.0.1", 24}}, {{"10.8.0.2", "10.8.0.9"}}));
  ASSERT_TRUE(restarted.ReconcileOnce().ok());
  EXPECT_EQ(NodeObject("node-a").status().route_sources(0).source(), "10.8.0.9");
}

TEST_F(FleetReconcilerTest, FailedStoreCommitIsReported) {
  ConnectWebFleet();
  fleet_.OnAck(a_, AckOf(sink_a_));
  store_.FailNextCommit(absl::UnavailableError("disk full"));
  EXPECT_EQ(fleet_.ReconcileOnce().code(), absl::StatusCode::kUnavailable);
}

TEST_F(FleetReconcilerTest, APassPublishesItsStatusesAsOneChangeAndNotTheStore) {
  constexpr int kForwards = 2000;
  ConnectManyForwards(kForwards);
  int forward_writes = 0;
  store_.before_commit = [&](const std::vector<WriteOp>& ops) {
    for (const WriteOp& op : ops) forward_writes += op.kind == kKindIPForward;
  };
  const int64_t before = store_.CurrentRevision();
  Reconcile();
  EXPECT_EQ(forward_writes, 0);  // statuses are not store rows
  absl::StatusOr<std::vector<Change>> markers =
      store_.ChangesSince(before, ForwardStatuses::kMarkerKind, 100);
  ASSERT_TRUE(markers.ok()) << markers.status();
  ASSERT_EQ(markers->size(), 1u);
  auto named = fleet_.statuses().ChangedAt(markers->front().object.revision);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ((*named)->size(), static_cast<size_t>(kForwards));
  for (int i : {0, 999, kForwards - 1}) {
    EXPECT_EQ(Find(Forward(Many(i)).status().conditions(), "Ready").reason(), "Pending");
  }
  // Equal statuses are kept once.
  EXPECT_EQ(fleet_.statuses().Get(Many(1)), fleet_.statuses().Get(Many(2)));
  // Nothing changed: nothing is published again.
  const int64_t after = store_.CurrentRevision();
  Reconcile();
  markers = store_.ChangesSince(after, ForwardStatuses::kMarkerKind, 100);
  ASSERT_TRUE(markers.ok()) << markers.status();
  EXPECT_TRUE(markers->empty());
}

TEST_F(FleetReconcilerTest, AFailedPublicationIsRetriedByTheNextPass) {
  ConnectWebFleet();
  fleet_.OnAck(a_, AckOf(sink_a_));
  fleet_.OnAck(b_, AckOf(sink_b_));
  store_.before_commit = [&](const std::vector<WriteOp>& ops) {
    if (ops.size() == 1 && ops[0].kind == ForwardStatuses::kMarkerKind) {
      store_.FailNextCommit(absl::UnavailableError("disk full"));
    }
  };
  EXPECT_EQ(fleet_.ReconcileOnce().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Find(Forward("web").status().conditions(), "Ready").reason(), "Pending");
  store_.before_commit = nullptr;
  Reconcile();
  EXPECT_EQ(Find(Forward("web").status().conditions(), "Ready").status(), "True");
}

TEST_F(FleetReconcilerTest, ADeletedForwardsStatusGoesWithIt) {
  ConnectWebFleet();
  ASSERT_NE(fleet_.statuses().Get("web"), nullptr);
  WriteOp del;
  del.type = WriteOp::Type::kDelete;
  del.kind = kKindIPForward;
  del.name = "web";
  ASSERT_TRUE(store_.Commit({del}).ok());
  Reconcile();
  EXPECT_EQ(fleet_.statuses().Get("web"), nullptr);
  EXPECT_TRUE(fleet_.statuses().Names().empty());
}

TEST_F(FleetReconcilerTest, StatusesMadeStaleByAnAckDuringThePassAreNotPublished) {
  constexpr int kForwards = 700;
  ConnectManyForwards(kForwards);
  bool acked = false;
  // The pass writes node-a's Node before the statuses; the ACK lands then.
  store_.before_commit = [&](const std::vector<WriteOp>& ops) {
    if (!acked && !ops.empty() && ops[0].kind == kKindNode) {
      acked = true;
      fleet_.OnAck(a_, AckOf(sink_a_));
    }
  };
  Reconcile();
  ASSERT_TRUE(acked);
  // Pending would be stale: none was published.
  for (int i : {0, kForwards - 1}) {
    EXPECT_TRUE(Forward(Many(i)).status().conditions().empty()) << Many(i);
  }
  // The pass the ACK kicked publishes every status, from the ACKed state.
  Reconcile();
  for (int i : {0, kForwards - 1}) {
    EXPECT_EQ(Find(Forward(Many(i)).status().conditions(), "Ready").status(), "True");
  }
}

TEST_F(FleetReconcilerTest, OwnStatusWritesAreNotReadBackFromTheChangeLog) {
  ConnectWebFleet();
  fleet_.OnAck(a_, AckOf(sink_a_));
  fleet_.OnAck(b_, AckOf(sink_b_));
  Reconcile();  // writes Ready
  ASSERT_EQ(Find(Forward("web").status().conditions(), "Ready").status(), "True");
  const int read = store_.forward_changes_read();
  Reconcile();
  Reconcile();
  EXPECT_EQ(store_.forward_changes_read(), read);
  // Another writer's change is read, and so is our write that follows it
  // (the log between them is not ours alone).
  ferry::v1::Object changed =
      MakeForward("web", "node-a", "192.0.2.1", "node-b", "10.8.0.2", ferry::v1::PRESERVE);
  changed.mutable_ip_forward()->mutable_metadata()->set_generation(2);
  Put(changed);
  Reconcile();
  EXPECT_EQ(store_.forward_changes_read(), read + 1);
  EXPECT_EQ(Forward("web").status().observed_generation(), 2);  // the pass saw the change
}

TEST_F(FleetReconcilerTest, RunningLoopPushesOnConnectAndWritesReadyAfterAck) {
  Put(MakeForward("web", "node-a", "192.0.2.1", "", "198.51.100.7", ferry::v1::MASQUERADE));
  fleet_.Start();
  SessionHandle* a = fleet_.Connect("node-a", MakeHello("node-a", {{"192.0.2.1", 24}}), &sink_a_);
  ASSERT_TRUE(sink_a_.WaitForPushes(1));
  fleet_.OnAck(a, AckOf(sink_a_));
  bool ready = false;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  int64_t revision = store_.CurrentRevision();
  while (!ready && absl::Now() < deadline) {
    ready = Find(Forward("web").status().conditions(), "Ready").status() == "True";
    if (!ready && store_.WaitForChange(revision, absl::Seconds(1))) {
      revision = store_.CurrentRevision();
    }
  }
  EXPECT_TRUE(ready);
  fleet_.Disconnect(a);
  fleet_.Stop();
}

// Counts the WaitForChange calls that return after StopWaiting.
class StoppingStore : public MemoryStore {
 public:
  bool WaitForChange(int64_t after, absl::Duration timeout) override {
    const bool changed = MemoryStore::WaitForChange(after, timeout);
    absl::MutexLock l(&mu_);
    if (stopped_) ++returns_after_stop_;
    return changed;
  }
  void StopWaiting() override {
    {
      absl::MutexLock l(&mu_);
      stopped_ = true;
    }
    MemoryStore::StopWaiting();
  }
  // Whether `n` waits returned after StopWaiting within `timeout`.
  bool AwaitReturnsAfterStop(int n, absl::Duration timeout) {
    absl::MutexLock l(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return returns_after_stop_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  int returns_after_stop_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(FleetReconcilerStopTest, StoreFollowerWaitsForStopInsteadOfSpinningOnAStoppedStore) {
  StoppingStore store;
  FleetReconciler::Options options;
  options.clock = [] { return absl::FromUnixSeconds(1700000000); };
  options.store_poll = absl::Minutes(1);  // only a stop ends a wait within the test's time
  FleetReconciler fleet(&store, options);
  fleet.Start();
  store.StopWaiting();
  ASSERT_TRUE(store.AwaitReturnsAfterStop(1, absl::Seconds(10)));
  // A follower that went straight back to the store would be back thousands
  // of times by now.
  EXPECT_FALSE(store.AwaitReturnsAfterStop(3, absl::Milliseconds(200)));
  const absl::Time stop_start = absl::Now();
  fleet.Stop();
  EXPECT_LT(absl::Now() - stop_start, absl::Seconds(5));
}

}  // namespace
}  // namespace ferry::controller
