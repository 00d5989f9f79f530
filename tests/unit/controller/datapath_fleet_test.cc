// The controller's side of data-path probes, through the fleet: what an
// agent's DataPathReports do to a forward's conditions, events and metrics,
// and a commit-confirmed change rolled back on every node when its probe
// fails.

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

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

ferry::v1::Hello Hello(const std::string& name, const std::vector<std::string>& addresses) {
  ferry::v1::Hello hello;
  hello.set_node_name(name);
  hello.set_agent_version("0.3.0");
  hello.add_capabilities(ferry::v1::CAPABILITY_DATA_PATH_PROBE);
  for (const std::string& address : addresses) {
    auto* a = hello.add_addresses();
    a->set_address(address);
    a->set_prefix_length(24);
  }
  return hello;
}

ferry::v1::Object Forward(int64_t generation, uint32_t target_port, bool confirmed) {
  ferry::v1::Object o;
  auto* f = o.mutable_ip_forward();
  f->set_api_version("ferry.dev/v1");
  f->set_kind("IPForward");
  f->mutable_metadata()->set_name("web");
  f->mutable_metadata()->set_generation(generation);
  auto* spec = f->mutable_spec();
  spec->mutable_frontend()->set_node_name("node-a");
  spec->mutable_frontend()->set_address("192.0.2.1");
  spec->mutable_backend()->set_node_name("node-b");
  spec->mutable_backend()->set_address("10.8.0.2");
  spec->set_source_ip(ferry::v1::PRESERVE);
  if (confirmed) spec->set_rollback(ferry::v1::ON_PROBE_FAILURE);
  auto* p = spec->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(80);
  p->set_target_port(target_port);
  return o;
}

ferry::v1::DataPathReport Verdict(int64_t generation, const std::string& status,
                                  const std::string& message = "") {
  ferry::v1::DataPathReport report;
  auto* v = report.add_verdicts();
  v->set_forward("web");
  v->set_generation(generation);
  v->set_status(status);
  v->set_reason(status == "True" ? "Verified" : "ProbeFailed");
  v->set_message(message);
  return report;
}

class DataPathFleetTest : public ::testing::Test {
 protected:
  DataPathFleetTest() : fleet_(&store_, Options()) {}

  FleetReconciler::Options Options() {
    FleetReconciler::Options options;
    options.clock = [this] {
      absl::MutexLock l(&clock_mu_);
      return now_;
    };
    options.metrics = &registry_;
    return options;
  }

  void Put(const ferry::v1::Object& object) { ASSERT_TRUE(PutForward(store_, object).ok()); }

  void Reconcile() { ASSERT_TRUE(fleet_.ReconcileOnce().ok()); }

  // Both agents ACK whatever they were last pushed.
  void AckAll() {
    for (auto [sink, session] : {std::pair{&sink_a_, a_}, std::pair{&sink_b_, b_}}) {
      if (sink->count() == 0) continue;
      ferry::v1::ConfigAck ack;
      ack.set_nonce(sink->last().nonce());
      ack.set_version(sink->last().config().version());
      ack.set_accepted(true);
      fleet_.OnAck(session, ack);
    }
    Reconcile();
  }

  void Connect(const ferry::v1::Object& forward) {
    Put(forward);
    a_ = fleet_.Connect("node-a", Hello("node-a", {"192.0.2.1", "10.8.0.1"}), &sink_a_);
    b_ = fleet_.Connect("node-b", Hello("node-b", {"10.8.0.2"}), &sink_b_);
    Reconcile();
    AckAll();
  }

  ferry::v1::IPForwardStatus Status() { return PublishedStatus(fleet_.statuses(), "web"); }

  ferry::v1::Condition Condition(const std::string& type) {
    const ferry::v1::IPForwardStatus status = Status();
    for (const auto& c : status.conditions()) {
      if (c.type() == type) return c;
    }
    return {};
  }

  std::vector<ferry::v1::Event> Events(const std::string& reason) {
    return StoredEvents(store_, reason);
  }

  // node-a's DNAT rule for web as last pushed.
  ferry::v1::DnatRule PushedRule() {
    ferry::v1::ConfigPush push = sink_a_.last();
    EXPECT_EQ(push.config().dnat_size(), 1);
    return push.config().dnat_size() == 1 ? push.config().dnat(0) : ferry::v1::DnatRule();
  }

  absl::Mutex clock_mu_;
  absl::Time now_ ABSL_GUARDED_BY(clock_mu_) = absl::FromUnixSeconds(1700000000);
  observability::Registry registry_;
  MemoryStore store_;
  FleetReconciler fleet_;
  RecordingPushSink sink_a_, sink_b_;
  SessionHandle* a_ = nullptr;
  SessionHandle* b_ = nullptr;
};

TEST_F(DataPathFleetTest, AFailedProbeIsAConditionAnEventAndAMetricButRepairsNothing) {
  Connect(Forward(1, 8080, false));
  EXPECT_EQ(Condition("Ready").status(), "True");
  EXPECT_EQ(Condition("DataPathVerified").status(), "Unknown");
  EXPECT_EQ(Condition("DataPathVerified").reason(), "NotProbed");

  fleet_.OnDataPath(a_, Verdict(1, "True"));
  Reconcile();
  EXPECT_EQ(Condition("DataPathVerified").status(), "True");
  EXPECT_THAT(registry_.Render(),
              HasSubstr("ferry_datapath_verified{forward=\"web\",node=\"node-a\"} 1\n"));
  const int pushes = sink_a_.count();

  fleet_.OnDataPath(a_, Verdict(1, "False", "no SYN-ACK from 10.8.0.2:8080 via 192.0.2.1:80"));
  Reconcile();
  ferry::v1::Condition verified = Condition("DataPathVerified");
  EXPECT_EQ(verified.status(), "False");
  EXPECT_EQ(verified.reason(), "ProbeFailed");
  EXPECT_EQ(verified.message(), "node node-a: no SYN-ACK from 10.8.0.2:8080 via 192.0.2.1:80");
  EXPECT_EQ(Condition("Ready").status(), "True");  // applied; it just carries nothing
  EXPECT_EQ(Status().nodes(0).data_path(), "False");
  std::vector<ferry::v1::Event> failed = Events("DataPathFailed");
  ASSERT_THAT(failed, SizeIs(1));
  EXPECT_EQ(failed[0].type(), "Warning");
  EXPECT_EQ(failed[0].node(), "node-a");
  EXPECT_THAT(failed[0].message(), HasSubstr("no SYN-ACK"));
  EXPECT_THAT(registry_.Render(),
              HasSubstr("ferry_datapath_verified{forward=\"web\",node=\"node-a\"} 0\n"));
  EXPECT_EQ(sink_a_.count(), pushes);  // a Never forward keeps its config

  fleet_.OnDataPath(a_, Verdict(1, "True"));
  Reconcile();
  EXPECT_EQ(Condition("DataPathVerified").status(), "True");
  EXPECT_THAT(Events("DataPathRestored"), SizeIs(1));
}

TEST_F(DataPathFleetTest, ACommitConfirmedChangeWhoseProbeFailsIsRolledBackOnEveryNode) {
  Connect(Forward(1, 8080, true));
  fleet_.OnDataPath(a_, Verdict(1, "True"));
  Reconcile();

  // Generation 2 moves the backend port to one nothing listens on.
  Put(Forward(2, 8081, true));
  Reconcile();
  EXPECT_EQ(PushedRule().generation(), 2);
  EXPECT_EQ(PushedRule().target_port(), 8081u);
  AckAll();
  EXPECT_THAT(Events("RolledBack"), IsEmpty());

  fleet_.OnDataPath(a_, Verdict(2, "False", "connection refused by 10.8.0.2:8081"));
  Reconcile();
  // node-a is pushed generation 1 again, whose target port serves.
  EXPECT_EQ(PushedRule().generation(), 1);
  EXPECT_EQ(PushedRule().target_port(), 8080u);
  AckAll();
  ferry::v1::Condition ready = Condition("Ready");
  EXPECT_EQ(ready.status(), "False");
  EXPECT_EQ(ready.reason(), "RolledBack");
  EXPECT_EQ(ready.message(),
            "generation 2 rolled back to generation 1: node node-a: connection refused by "
            "10.8.0.2:8081");
  EXPECT_EQ(Status().observed_generation(), 2);  // the spec stays as written
  EXPECT_EQ(Status().rolled_back_to_generation(), 1);
  std::vector<ferry::v1::Event> rolled = Events("RolledBack");
  ASSERT_THAT(rolled, SizeIs(1));
  EXPECT_EQ(rolled[0].type(), "Warning");
  EXPECT_THAT(rolled[0].message(), HasSubstr("rolled back to generation 1"));

  // The next change is tried again and, once its probe passes, is Ready.
  Put(Forward(3, 9090, true));
  Reconcile();
  EXPECT_EQ(PushedRule().generation(), 3);
  AckAll();
  fleet_.OnDataPath(a_, Verdict(3, "True"));
  Reconcile();
  EXPECT_EQ(PushedRule().generation(), 3);
  EXPECT_EQ(Condition("Ready").status(), "True");
  EXPECT_EQ(Status().rolled_back_to_generation(), 0);
  EXPECT_EQ(Condition("DataPathVerified").status(), "True");
}

}  // namespace
}  // namespace ferry::controller
