// A forward's Ready is derived from what each involved node ACKed of that
// forward, so once it is Ready at its generation, nothing that happens to
// other forwards (pushes, deltas, full pushes, NACKs, pushes in flight, a
// reconnect of the agent) makes its stored status leave Ready.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/lib/conditions.h"
#include "api/lib/sync_protocol.h"
#include "controller/fleet/fleet_reconciler.h"
#include "controller/store/object_codec.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/memory_store.h"
#include "tests/unit/controller/published_status.h"
#include "tests/unit/controller/recording_push_sink.h"

namespace ferry::controller {
namespace {

ferry::v1::Hello HelloOf(bool delta_capable, const std::string& last_applied) {
  ferry::v1::Hello hello;
  hello.set_node_name("node-a");
  hello.set_agent_version("0.2.0");
  if (delta_capable) hello.add_capabilities(ferry::v1::CAPABILITY_CONFIG_DELTA);
  hello.set_last_applied_version(last_applied);
  auto* a = hello.add_addresses();
  a->set_interface("eth0");
  a->set_address("192.0.2.1");
  a->set_prefix_length(24);
  return hello;
}

std::string VersionOf(const ferry::v1::ConfigPush& push) {
  return push.has_delta() ? push.delta().version() : push.config().version();
}

class FleetReadyTest : public ::testing::TestWithParam<bool> {
 protected:
  FleetReadyTest() : fleet_(&store_, Options()) {}

  static FleetReconciler::Options Options() {
    FleetReconciler::Options options;
    options.clock = [] { return absl::FromUnixSeconds(1700000000); };
    return options;
  }

  void PutForward(const std::string& name, int port, int64_t generation) {
    ferry::v1::Object o;
    auto* f = o.mutable_ip_forward();
    f->set_api_version("ferry.dev/v1");
    f->set_kind("IPForward");
    f->mutable_metadata()->set_name(name);
    f->mutable_metadata()->set_generation(generation);
    f->mutable_spec()->mutable_frontend()->set_node_name("node-a");
    f->mutable_spec()->mutable_frontend()->set_address("192.0.2.1");
    f->mutable_spec()->mutable_backend()->set_address("198.51.100.7");
    f->mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
    auto* p = f->mutable_spec()->add_ports();
    p->set_protocol(ferry::v1::TCP);
    p->set_port(port);
    p->set_target_port(8000 + generation);
    ASSERT_TRUE(store_.Commit({PutOp(o, WriteOp::kAnyRevision)}).ok());
  }

  ferry::v1::IPForwardStatus StatusOf(const std::string& name) {
    EXPECT_TRUE(store_.Get(kKindIPForward, name).ok()) << name;
    return PublishedStatus(fleet_.statuses(), name);
  }

  static bool IsReady(const ferry::v1::IPForwardStatus& status) {
    return api::ConditionStatus(status.conditions(), api::kConditionReady) == "True";
  }

  void Reconcile() { ASSERT_TRUE(fleet_.ReconcileOnce().ok()); }

  void Ack(bool accepted = true) {
    ferry::v1::ConfigPush push = sink_.last();
    ferry::v1::ConfigAck ack;
    ack.set_nonce(push.nonce());
    ack.set_version(VersionOf(push));
    ack.set_accepted(accepted);
    if (!accepted) ack.set_error("kernel said no");
    fleet_.OnAck(session_, ack);
  }

  // The statuses of the settled forwards, which must not change.
  void ExpectSettledUnchanged(const std::vector<ferry::v1::IPForwardStatus>& want,
                              const std::string& context) {
    for (size_t i = 0; i < want.size(); ++i) {
      ferry::v1::IPForwardStatus got = StatusOf(absl::StrFormat("settled-%02d", i));
      EXPECT_TRUE(IsReady(got)) << context << " settled-" << i << ": " << got.DebugString();
      EXPECT_EQ(got.SerializeAsString(), want[i].SerializeAsString()) << context;
    }
  }

  MemoryStore store_;
  FleetReconciler fleet_;
  RecordingPushSink sink_;
  SessionHandle* session_ = nullptr;
};

TEST_P(FleetReadyTest, ReadyForwardStaysReadyWhateverHappensToOtherForwards) {
  const bool delta_capable = GetParam();
  constexpr int kSettled = 5;
  for (int i = 0; i < kSettled; ++i) PutForward(absl::StrFormat("settled-%02d", i), 100 + i, 1);
  session_ = fleet_.Connect("node-a", HelloOf(delta_capable, ""), &sink_);
  Reconcile();
  Ack();
  Reconcile();
  std::vector<ferry::v1::IPForwardStatus> settled;
  for (int i = 0; i < kSettled; ++i) {
    settled.push_back(StatusOf(absl::StrFormat("settled-%02d", i)));
    ASSERT_TRUE(IsReady(settled.back())) << settled.back().DebugString();
  }

  int64_t generation = 1;
  int port = 1000;
  auto change_other = [&] { PutForward("other", port++, ++generation); };

  // A change of another forward, pushed and ACKed.
  change_other();
  Reconcile();
  ExpectSettledUnchanged(settled, "pushed, not yet ACKed");
  Ack();
  Reconcile();
  ExpectSettledUnchanged(settled, "ACKed");

  // Two pushes in flight: the second (full) supersedes the first's ACK.
  change_other();
  Reconcile();
  const ferry::v1::ConfigPush first = sink_.last();
  change_other();
  Reconcile();
  ExpectSettledUnchanged(settled, "second push in flight");
  ferry::v1::ConfigAck stale;
  stale.set_nonce(first.nonce());
  stale.set_version(VersionOf(first));
  stale.set_accepted(true);
  fleet_.OnAck(session_, stale);
  Reconcile();
  ExpectSettledUnchanged(settled, "stale ACK");
  Ack();
  Reconcile();
  ExpectSettledUnchanged(settled, "second push ACKed");

  // A NACK of a push that changed only the other forward.
  change_other();
  Reconcile();
  Ack(/*accepted=*/false);
  Reconcile();
  ExpectSettledUnchanged(settled, "NACK of another forward's change");
  change_other();
  Reconcile();
  Ack();
  Reconcile();
  ExpectSettledUnchanged(settled, "after the NACK, ACKed");

  // The agent applied a push, but its stream broke before the ACK came;
  // meanwhile the plan moved on. Its Hello says what it applied.
  change_other();
  Reconcile();
  const std::string applied = VersionOf(sink_.last());
  fleet_.Disconnect(session_);
  Reconcile();
  change_other();
  session_ = fleet_.Connect("node-a", HelloOf(delta_capable, applied), &sink_);
  Reconcile();
  ExpectSettledUnchanged(settled, "reconnected with a newer push applied, next push in flight");
  Ack();
  Reconcile();
  ExpectSettledUnchanged(settled, "reconnected and ACKed");
  EXPECT_TRUE(IsReady(StatusOf("other")));
}

INSTANTIATE_TEST_SUITE_P(DeltaAndFull, FleetReadyTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Delta" : "Full"; });

}  // namespace
}  // namespace ferry::controller
