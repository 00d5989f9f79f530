// The controller's side of drift: what DriftReports, ACKs and stream changes
// do to conditions, events and metrics.

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "api/observability/metrics.h"
#include "controller/fleet/fleet_reconciler.h"
#include "controller/store/object_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/memory_store.h"
#include "tests/unit/controller/published_status.h"
#include "tests/unit/controller/recording_push_sink.h"
#include "tests/unit/controller/stored_objects.h"

namespace ferry::controller {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kDnatElement[] = "map dnat4 element 192.0.2.1 . tcp . 80";

ferry::v1::Hello Hello(const std::string& name, const std::vector<std::string>& addresses) {
  ferry::v1::Hello hello;
  hello.set_node_name(name);
  hello.set_agent_version("0.1.0");
  for (const std::string& address : addresses) {
    auto* a = hello.add_addresses();
    a->set_address(address);
    a->set_prefix_length(24);
  }
  return hello;
}

ferry::v1::Object Forward(const std::string& name, uint32_t port, ferry::v1::DriftPolicy policy) {
  ferry::v1::Object o;
  auto* f = o.mutable_ip_forward();
  f->set_api_version("ferry.dev/v1");
  f->set_kind("IPForward");
  f->mutable_metadata()->set_name(name);
  f->mutable_metadata()->set_generation(1);
  f->mutable_spec()->mutable_frontend()->set_node_name("node-a");
  f->mutable_spec()->mutable_frontend()->set_address("192.0.2.1");
  f->mutable_spec()->mutable_backend()->set_node_name("node-b");
  f->mutable_spec()->mutable_backend()->set_address("10.8.0.2");
  f->mutable_spec()->set_source_ip(ferry::v1::PRESERVE);
  f->mutable_spec()->set_drift_policy(policy);
  auto* p = f->mutable_spec()->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(port);
  return o;
}

ferry::v1::DriftItem Item(const std::string& forward, const std::string& object, bool repaired) {
  ferry::v1::DriftItem item;
  item.set_forward(forward);
  item.set_object(object);
  item.set_kind("nftables");
  item.set_expected("192.0.2.1 . tcp . 80 : 10.8.0.2 . 80");
  item.set_repaired(repaired);
  return item;
}

ferry::v1::DriftReport Report(std::vector<ferry::v1::DriftItem> items, bool in_sync) {
  ferry::v1::DriftReport report;
  for (auto& item : items) *report.add_items() = std::move(item);
  report.set_in_sync(in_sync);
  report.set_trigger("event");
  return report;
}

class DriftFleetTest : public ::testing::Test {
 protected:
  DriftFleetTest() : fleet_(&store_, Options()) {}

  FleetReconciler::Options Options() {
    FleetReconciler::Options options;
    options.clock = [this] {
      absl::MutexLock l(&clock_mu_);
      return now_;
    };
    options.metrics = &registry_;
    options.max_events = max_events_;
    options.on_event = [this](const ferry::v1::Event& e) {
      absl::MutexLock l(&clock_mu_);
      written_.push_back(e);
    };
    return options;
  }

  void Advance(absl::Duration d) {
    absl::MutexLock l(&clock_mu_);
    now_ += d;
  }

  void Put(const ferry::v1::Object& object) { ASSERT_TRUE(PutForward(store_, object).ok()); }

  // node-a fronts web (Alert) and api (Enforce); node-b routes replies.
  void ConnectFleet() {
    Put(Forward("web", 80, ferry::v1::ALERT));
    Put(Forward("api", 443, ferry::v1::ENFORCE));
    a_ = fleet_.Connect("node-a", Hello("node-a", {"192.0.2.1", "10.8.0.1"}), &sink_a_);
    b_ = fleet_.Connect("node-b", Hello("node-b", {"10.8.0.2"}), &sink_b_);
    Reconcile();
  }

  void Reconcile() { ASSERT_TRUE(fleet_.ReconcileOnce().ok()); }

  ferry::v1::Condition Condition(const char* kind, const std::string& name,
                                 const std::string& type) {
    absl::StatusOr<StoredObject> stored = store_.Get(kind, name);
    EXPECT_TRUE(stored.ok()) << stored.status();
    if (!stored.ok()) return {};
    ferry::v1::Object o = *DecodeStored(*stored);
    if (o.has_ip_forward()) {
      *o.mutable_ip_forward()->mutable_status() = PublishedStatus(fleet_.statuses(), name);
    }
    const auto& conditions =
        o.has_node() ? o.node().status().conditions() : o.ip_forward().status().conditions();
    for (const auto& c : conditions) {
      if (c.type() == type) return c;
    }
    return {};
  }

  std::vector<ferry::v1::Event> Events(const std::string& reason) {
    return StoredEvents(store_, reason);
  }

  ferry::v1::ConfigAck Ack(RecordingPushSink& sink, bool accepted, const std::string& error = "") {
    ferry::v1::ConfigAck ack;
    ack.set_nonce(sink.last().nonce());
    ack.set_version(sink.last().config().version());
    ack.set_accepted(accepted);
    ack.set_error(error);
    return ack;
  }

  absl::Mutex clock_mu_;
  absl::Time now_ ABSL_GUARDED_BY(clock_mu_) = absl::FromUnixSeconds(1700000000);
  std::vector<ferry::v1::Event> written_ ABSL_GUARDED_BY(clock_mu_);
  size_t max_events_ = 1000;
  observability::Registry registry_;
  MemoryStore store_;
  FleetReconciler fleet_;
  RecordingPushSink sink_a_, sink_b_;
  SessionHandle* a_ = nullptr;
  SessionHandle* b_ = nullptr;
};

TEST_F(DriftFleetTest, AlertForwardIsDriftedWhileItsNodeReportsUnrepairedDrift) {
  ConnectFleet();
  fleet_.OnDrift(a_, Report({Item("web", kDnatElement, false)}, false));
  Reconcile();
  ferry::v1::Condition drifted = Condition(kKindIPForward, "web", "Drifted");
  EXPECT_EQ(drifted.status(), "True");
  EXPECT_EQ(drifted.reason(), "DriftDetected");
  EXPECT_THAT(drifted.message(), AllOf(HasSubstr("node-a"), HasSubstr(kDnatElement),
                                       HasSubstr("missing"), HasSubstr("10.8.0.2 . 80")));
  EXPECT_EQ(Condition(kKindIPForward, "api", "Drifted").status(), "False");
}

TEST_F(DriftFleetTest, DriftedClearsWhenTheNodeReportsInSync) {
  ConnectFleet();
  fleet_.OnDrift(a_, Report({Item("web", kDnatElement, false)}, false));
  Reconcile();
  fleet_.OnDrift(a_, Report({}, true));
  Reconcile();
  ferry::v1::Condition drifted = Condition(kKindIPForward, "web", "Drifted");
  EXPECT_EQ(drifted.status(), "False");
  EXPECT_EQ(drifted.reason(), "InSync");
}

TEST_F(DriftFleetTest, ForwardIsNotDriftedBeforeAnyReport) {
  ConnectFleet();
  EXPECT_EQ(Condition(kKindIPForward, "web", "Drifted").status(), "False");
}

TEST_F(DriftFleetTest, NodeInSyncFollowsTheLatestReportWithTheDriftCount) {
  ConnectFleet();
  fleet_.OnDrift(a_,
                 Report({Item("web", kDnatElement, false), Item("web", "set x", false)}, false));
  Reconcile();
  ferry::v1::Condition in_sync = Condition(kKindNode, "node-a", "InSync");
  EXPECT_EQ(in_sync.status(), "False");
  EXPECT_THAT(in_sync.message(), AllOf(HasSubstr("2 drifted object(s)"), HasSubstr(kDnatElement)));
  fleet_.OnDrift(a_, Report({}, true));
  Reconcile();
  EXPECT_EQ(Condition(kKindNode, "node-a", "InSync").status(), "True");
}

TEST_F(DriftFleetTest, EventsAreWrittenByTheReconcilePassNotByTheReport) {
  ConnectFleet();
  fleet_.OnDrift(a_, Report({Item("web", kDnatElement, false)}, false));
  EXPECT_THAT(Events("DriftDetected"), IsEmpty());
  Reconcile();
  EXPECT_THAT(Events("DriftDetected"), SizeIs(1));
}

TEST_F(DriftFleetTest, UnrepairedDriftRecordsAWarningEventNamingTheDifference) {
  ConnectFleet();
  fleet_.OnDrift(a_, Report({Item("web", kDnatElement, false)}, false));
  Reconcile();
  std::vector<ferry::v1::Event> events = Events("DriftDetected");
  ASSERT_THAT(events, SizeIs(1));
  const ferry::v1::Event& e = events[0];
  EXPECT_EQ(e.kind(), "Event");
  EXPECT_EQ(e.type(), "Warning");
  EXPECT_EQ(e.involved_object().kind(), "IPForward");
  EXPECT_EQ(e.involved_object().name(), "web");
  EXPECT_EQ(e.node(), "node-a");
  EXPECT_EQ(e.count(), 1);
  EXPECT_THAT(e.metadata().name(), ::testing::StartsWith("web."));
  EXPECT_THAT(e.message(), AllOf(HasSubstr(kDnatElement), HasSubstr("10.8.0.2 . 80")));
  EXPECT_EQ(e.first_timestamp().seconds(), 1700000000);
}

TEST_F(DriftFleetTest, DriftThatReturnsAfterClearingIncrementsTheSameEvent) {
  ConnectFleet();
  fleet_.OnDrift(a_, Report({Item("web", kDnatElement, false)}, false));
  Reconcile();
  fleet_.OnDrift(a_, Report({}, true));
  Reconcile();
  Advance(absl::Seconds(30));
  fleet_.OnDrift(a_, Report({Item("web", kDnatElement, false)}, false));
  Reconcile();
  std::vector<ferry::v1::Event> events = Events("DriftDetected");
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].count(), 2);
  EXPECT_EQ(events[0].first_timestamp().seconds(), 1700000000);
  EXPECT_EQ(events[0].last_timestamp().seconds(), 1700000030);
}

TEST_F(DriftFleetTest, StandingDriftReportedAgainIsNotCountedAgain) {
  ConnectFleet();
  fleet_.OnDrift(a_, Report({Item("web", kDnatElement, false)}, false));
  Reconcile();
  fleet_.OnDrift(a_, Report({Item("web", kDnatElement, false)}, false));
  Reconcile();
  std::vector<ferry::v1::Event> events = Events("DriftDetected");
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].count(), 1);
}

TEST_F(DriftFleetTest, RepairedDriftIsAnEventAndLeavesTheForwardNotDrifted) {
  ConnectFleet();
  fleet_.OnDrift(a_, Report({Item("api", "map dnat4 element 192.0.2.1 . tcp . 443", true)}, true));
  Reconcile();
  EXPECT_EQ(Condition(kKindIPForward, "api", "Drifted").status(), "False");
  EXPECT_THAT(Events("DriftDetected"), IsEmpty());
  std::vector<ferry::v1::Event> repaired = Events("DriftRepaired");
  ASSERT_THAT(repaired, SizeIs(1));
  EXPECT_EQ(repaired[0].type(), "Normal");
  EXPECT_EQ(repaired[0].involved_object().name(), "api");
  EXPECT_THAT(repaired[0].message(), AllOf(HasSubstr("node-a"), HasSubstr("repaired")));
}

TEST_F(DriftFleetTest, NodeWideDriftInvolvesTheNode) {
  ConnectFleet();
  ferry::v1::DriftItem sysctl;
  sysctl.set_object("sysctl net/ipv4/ip_forward");
  sysctl.set_kind("sysctl");
  sysctl.set_expected("1");
  sysctl.set_found("0");
  fleet_.OnDrift(a_, Report({sysctl}, false));
  Reconcile();
  std::vector<ferry::v1::Event> events = Events("DriftDetected");
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].involved_object().kind(), "Node");
  EXPECT_EQ(events[0].involved_object().name(), "node-a");
  EXPECT_THAT(events[0].message(), HasSubstr("expected \"1\", found \"0\""));
}

TEST_F(DriftFleetTest, ConnectAndDisconnectAreEvents) {
  ConnectFleet();
  ASSERT_THAT(Events("NodeConnected"), SizeIs(2));
  fleet_.Disconnect(a_);
  Reconcile();
  std::vector<ferry::v1::Event> events = Events("NodeDisconnected");
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].type(), "Warning");
  EXPECT_EQ(events[0].involved_object().kind(), "Node");
  EXPECT_EQ(events[0].involved_object().name(), "node-a");
}

TEST_F(DriftFleetTest, NackIsAnApplyFailedEventWithTheAgentsError) {
  ConnectFleet();
  fleet_.OnAck(a_, Ack(sink_a_, false, "nftables: Operation not permitted"));
  Reconcile();
  std::vector<ferry::v1::Event> events = Events("ApplyFailed");
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].involved_object().name(), "node-a");
  EXPECT_THAT(events[0].message(), HasSubstr("Operation not permitted"));
}

TEST_F(DriftFleetTest, EveryWrittenEventReachesTheCallback) {
  ConnectFleet();
  fleet_.OnDrift(a_, Report({Item("web", kDnatElement, false)}, false));
  Reconcile();
  absl::MutexLock l(&clock_mu_);
  ASSERT_THAT(written_, SizeIs(3));  // two NodeConnected, one DriftDetected
  EXPECT_EQ(written_.back().reason(), "DriftDetected");
}

TEST_F(DriftFleetTest, MetricsShowConnectionSyncDriftFailuresAndForwards) {
  ConnectFleet();
  fleet_.OnAck(a_, Ack(sink_a_, true));
  fleet_.OnAck(b_, Ack(sink_b_, false, "route: No such device"));
  fleet_.OnDrift(a_, Report({Item("web", kDnatElement, false),
                             Item("api", "map dnat4 element 192.0.2.1 . tcp . 443", true)},
                            false));
  fleet_.Disconnect(b_);
  Reconcile();
  std::string text = registry_.Render();
  EXPECT_THAT(text, HasSubstr("ferry_node_connected{node=\"node-a\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ferry_node_connected{node=\"node-b\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ferry_node_in_sync{node=\"node-a\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("ferry_drift_detected_total{node=\"node-a\",kind=\"nftables\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("ferry_drift_repaired_total{node=\"node-a\",kind=\"nftables\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ferry_apply_failures_total{node=\"node-b\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ferry_apply_latency_seconds_count 1\n"));
  EXPECT_THAT(text, HasSubstr("ferry_forwards{condition=\"Drifted\",status=\"True\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ferry_forwards{condition=\"Drifted\",status=\"False\"} 1\n"));
}

TEST_F(DriftFleetTest, ApplyLatencyRunsFromThePassThatPushedToTheAck) {
  ConnectFleet();
  Advance(absl::Milliseconds(250));
  fleet_.OnAck(a_, Ack(sink_a_, true));
  std::string text = registry_.Render();
  EXPECT_THAT(text, HasSubstr("ferry_apply_latency_seconds_sum 0.25\n"));
}

TEST(DriftFleetCapTest, EventsBeyondTheCapAreDeletedOldestFirst) {
  MemoryStore store;
  absl::Time now = absl::FromUnixSeconds(1700000000);
  FleetReconciler::Options options;
  options.clock = [&now] { return now; };
  options.max_events = 2;
  FleetReconciler fleet(&store, options);
  RecordingPushSink sinks[3];
  const char* names[] = {"node-a", "node-b", "node-c"};
  for (int i = 0; i < 3; ++i) {
    fleet.Connect(names[i], Hello(names[i], {}), &sinks[i]);
    ASSERT_TRUE(fleet.ReconcileOnce().ok());
    now += absl::Seconds(1);
  }
  std::vector<std::string> kept;
  ASSERT_TRUE(store
                  .List(kKindEvent,
                        [&](const StoredObject& s) {
                          kept.push_back(DecodeStored(s)->event().involved_object().name());
                          return true;
                        })
                  .ok());
  EXPECT_THAT(kept, ::testing::UnorderedElementsAre("node-b", "node-c"));
}

}  // namespace
}  // namespace ferry::controller
