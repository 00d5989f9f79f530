// The incremental reconcile pass against the full one: two reconcilers fed
// the same random history of store writes and agent messages must write the
// same statuses and push the same configs. The full one recomputes every
// plan and status on every pass (full_resync_period = 0).

#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/fleet/fleet_reconciler.h"
#include "controller/store/object_codec.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/memory_store.h"
#include "tests/unit/controller/published_status.h"
#include "tests/unit/controller/recording_push_sink.h"

namespace ferry::controller {
namespace {

constexpr int kNodes = 3;

// One reconciler with its store and one sink per node.
struct Side {
  explicit Side(absl::Duration full_resync) : fleet(&store, OptionsWith(full_resync)) {}
  static FleetReconciler::Options OptionsWith(absl::Duration full_resync) {
    FleetReconciler::Options options;
    options.clock = [] { return absl::FromUnixSeconds(1700000000); };
    options.full_resync_period = full_resync;
    return options;
  }
  MemoryStore store;
  FleetReconciler fleet;
  RecordingPushSink sinks[kNodes];
  SessionHandle* sessions[kNodes] = {};
};

class History {
 public:
  explicit History(uint32_t seed) : rng_(seed) {}
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  ferry::v1::Object RandomForward(const std::string& name, int64_t generation) {
    ferry::v1::Object o;
    auto* f = o.mutable_ip_forward();
    f->set_api_version("ferry.dev/v1");
    f->set_kind("IPForward");
    f->mutable_metadata()->set_name(name);
    f->mutable_metadata()->set_generation(generation);
    auto* spec = f->mutable_spec();
    spec->mutable_frontend()->set_node_name(absl::StrCat("n", Pick(kNodes)));
    spec->mutable_frontend()->set_address(absl::StrCat("192.0.2.", 1 + Pick(2)));
    spec->mutable_backend()->set_node_name(absl::StrCat("n", Pick(kNodes)));
    spec->mutable_backend()->set_address(absl::StrCat("10.8.0.", 1 + Pick(3)));
    spec->set_source_ip(Pick(2) == 0 ? ferry::v1::PRESERVE : ferry::v1::MASQUERADE);
    auto* p = spec->add_ports();
    p->set_protocol(ferry::v1::TCP);
    p->set_port(80 + Pick(4));
    return o;
  }

  ferry::v1::Hello RandomHello(int node) {
    ferry::v1::Hello hello;
    hello.set_node_name(absl::StrCat("n", node));
    const bool delta_capable = Pick(2) != 0;
    hello.set_agent_version(delta_capable ? "0.2.0" : "0.1.0");
    if (delta_capable) hello.add_capabilities(ferry::v1::CAPABILITY_CONFIG_DELTA);
    for (int a = 1; a <= 2; ++a) {
      if (Pick(2) == 0) AddAddress(absl::StrCat("192.0.2.", a), &hello);
    }
    for (int a = 1; a <= 3; ++a) {
      if (Pick(2) == 0) AddAddress(absl::StrCat("10.8.0.", a), &hello);
    }
    return hello;
  }

 private:
  static void AddAddress(const std::string& address, ferry::v1::Hello* hello) {
    auto* a = hello->add_addresses();
    a->set_interface("eth0");
    a->set_address(address);
    a->set_prefix_length(24);
  }
  std::mt19937 rng_;
};

// Every stored forward's published status; and a forward gone from the
// store has none left.
std::map<std::string, std::string> Statuses(MemoryStore& store, const ForwardStatuses& statuses) {
  std::map<std::string, std::string> out;
  absl::StatusOr<int64_t> listed = store.List(kKindIPForward, [&](const StoredObject& stored) {
    out[stored.name] = PublishedStatus(statuses, stored.name).DebugString();
    return true;
  });
  EXPECT_TRUE(listed.ok());
  for (const std::string& name : statuses.Names()) {
    EXPECT_EQ(out.count(name), 1u) << "a status outlived forward " << name;
  }
  return out;
}

TEST(FleetIncrementalTest, WritesTheSameStatusesAndPushesAsFullPassesOnRandomHistories) {
  int incremental_writes_skipped = 0;
  for (uint32_t seed = 1; seed <= 25; ++seed) {
    History h(seed);
    Side incremental(absl::Minutes(10));
    Side full(absl::ZeroDuration());
    Side* sides[] = {&incremental, &full};
    int64_t generation = 1;
    for (int step = 0; step < 80; ++step) {
      const int action = h.Pick(12);
      const int node = h.Pick(kNodes);
      std::string context = absl::StrCat("seed ", seed, " step ", step, " action ", action);
      if (action < 4) {  // a user's write
        std::string name = absl::StrCat("f", h.Pick(8));
        ferry::v1::Object o = h.RandomForward(name, ++generation);
        for (Side* s : sides) {
          WriteOp op;
          op.kind = kKindIPForward;
          op.name = name;
          op.value = EncodeForStore(o);
          ASSERT_TRUE(s->store.Commit({op}).ok());
        }
      } else if (action == 4) {
        std::string name = absl::StrCat("f", h.Pick(8));
        for (Side* s : sides) {
          WriteOp op;
          op.type = WriteOp::Type::kDelete;
          op.kind = kKindIPForward;
          op.name = name;
          (void)s->store.Commit({op});
        }
      } else if (action < 7) {  // connect (or reconnect)
        ferry::v1::Hello hello = h.RandomHello(node);
        for (Side* s : sides) {
          if (s->sessions[node] != nullptr) s->fleet.Disconnect(s->sessions[node]);
          ferry::v1::Hello mine = hello;
          mine.set_last_applied_version(s->sinks[node].last().config().version());
          s->sessions[node] = s->fleet.Connect(mine.node_name(), mine, &s->sinks[node]);
        }
      } else if (action == 7) {
        for (Side* s : sides) {
          if (s->sessions[node] != nullptr) s->fleet.Disconnect(s->sessions[node]);
          s->sessions[node] = nullptr;
        }
      } else if (action < 11) {  // ACK, ACK with a failed forward, NACK
        const int kind = h.Pick(3);
        const std::string failed = absl::StrCat("f", h.Pick(8));
        for (Side* s : sides) {
          if (s->sessions[node] == nullptr || s->sinks[node].count() == 0) continue;
          ferry::v1::ConfigPush push = s->sinks[node].last();
          ferry::v1::ConfigAck ack;
          ack.set_nonce(push.nonce());
          ack.set_version(push.has_delta() ? push.delta().version() : push.config().version());
          ack.set_accepted(kind != 2);
          if (kind == 1) (*ack.mutable_forward_errors())[failed] = "EINVAL";
          if (kind == 2) ack.set_error("kernel said no");
          s->fleet.OnAck(s->sessions[node], ack);
        }
      } else {  // drift naming a forward, or none
        ferry::v1::DriftReport report;
        report.set_in_sync(h.Pick(2) == 0);
        if (!report.in_sync()) {
          auto* item = report.add_items();
          item->set_forward(absl::StrCat("f", h.Pick(8)));
          item->set_object("element");
          item->set_expected("x");
        }
        for (Side* s : sides) {
          if (s->sessions[node] != nullptr) s->fleet.OnDrift(s->sessions[node], report);
        }
      }
      for (Side* s : sides) ASSERT_TRUE(s->fleet.ReconcileOnce().ok()) << context;
      ASSERT_EQ(Statuses(incremental.store, incremental.fleet.statuses()),
                Statuses(full.store, full.fleet.statuses()))
          << context;
      for (int n = 0; n < kNodes; ++n) {
        ASSERT_EQ(incremental.sinks[n].count(), full.sinks[n].count()) << context << " node " << n;
        ASSERT_EQ(incremental.sinks[n].last().SerializeAsString(),
                  full.sinks[n].last().SerializeAsString())
            << context << " node " << n;
      }
    }
    incremental_writes_skipped +=
        static_cast<int>(full.store.CurrentRevision() - incremental.store.CurrentRevision());
  }
  // Equal histories should also mean equal writes: no status written twice.
  EXPECT_EQ(incremental_writes_skipped, 0);
}

}  // namespace
}  // namespace ferry::controller
