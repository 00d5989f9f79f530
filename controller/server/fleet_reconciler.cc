#include "controller/server/fleet_reconciler.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/lib/log.h"
#include "controller/planner/config_delta.h"
#include "controller/server/fleet_events.h"
#include "controller/store/object_codec.h"
#include "google/protobuf/util/message_differencer.h"

namespace ferry::controller {

class SessionHandle {
 public:
  virtual ~SessionHandle() = default;
};

struct FleetReconciler::Session : public SessionHandle {
  uint64_t id = 0;
  std::string node;
  PushSink* sink = nullptr;
  bool active = true;  // false once replaced by a newer stream
  uint64_t nonce = 0;
  std::string last_nonce;      // of the last push; only its ACK counts
  std::string pushed_version;  // empty until the first (full) push
  bool delta_capable = false;  // the agent applies NodeConfigDelta
  // The agent ACKed the last push on this stream, so it holds exactly
  // NodeState::acked and a delta on top of it applies.
  bool last_push_acked = false;
};

// The store's IPForwards and Nodes as of `revision`, kept across passes and
// brought up to date from the change log, so a pass reads and decodes only
// what changed since the last one.
struct FleetReconciler::Snapshot {
  struct Stored {
    ferry::v1::Object object;
    int64_t revision = 0;
  };
  std::map<std::string, Stored> forwards;  // by name
  std::map<std::string, Stored> nodes;     // by name
  int64_t revision = 0;
};

namespace {

using ferry::v1::Condition;
using ferry::v1::IPForward;
using ferry::v1::Node;
using ferry::v1::NodeConfig;
using ferry::v1::Object;

constexpr char kApiVersion[] = "ferry.dev/v1";
constexpr char kConditionConnected[] = "Connected";
// Status writes per store transaction.
constexpr size_t kStatusWriteBatch = 500;
// Change-log reads per pass before a full re-list is cheaper.
constexpr size_t kCatchUpBatch = 10000;
constexpr int kMaxCatchUpRounds = 50;

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

std::string NewUid() {
  absl::BitGen gen;
  uint64_t hi = absl::Uniform<uint64_t>(gen), lo = absl::Uniform<uint64_t>(gen);
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff,
                         lo >> 48, lo & 0xffffffffffffULL);
}

// The forward's generation among the entries `role` installs, if present.
std::optional<int64_t> GenerationIn(const NodeConfig& config, const std::string& forward,
                                    const std::string& role) {
  if (role == kRoleFrontend) {
    for (const auto& r : config.dnat()) {
      if (r.forward() == forward) return r.generation();
    }
  } else {
    for (const auto& r : config.return_routes()) {
      if (r.forward() == forward) return r.generation();
    }
  }
  return std::nullopt;
}

// Replaces the node's condition of c's type, keeping the others in place.
void ReplaceCondition(Condition c, absl::Time now, Node* node) {
  google::protobuf::RepeatedPtrField<Condition> previous = node->status().conditions();
  auto* conditions = node->mutable_status()->mutable_conditions();
  conditions->Clear();
  for (const Condition& p : previous) {
    if (p.type() != c.type()) *conditions->Add() = p;
  }
  SetCondition(std::move(c), now, previous, conditions);
}

void SetConnected(bool connected, const std::string& agent_version, absl::Time now, Node* node) {
  Condition c;
  c.set_type(kConditionConnected);
  c.set_status(connected ? "True" : "False");
  c.set_reason(connected ? "AgentConnected" : "AgentDisconnected");
  c.set_message(connected ? absl::StrCat("agent ", agent_version, " is connected")
                          : "no agent stream to this controller");
  c.set_observed_generation(node->metadata().generation());
  ReplaceCondition(std::move(c), now, node);
}

EventRecorder::Options EventOptions(const FleetReconciler::Options& options) {
  EventRecorder::Options out;
  out.max_events = options.max_events;
  out.on_written = options.on_event;
  return out;
}

}  // namespace

FleetReconciler::FleetReconciler(Store* store) : FleetReconciler(store, Options()) {}

FleetReconciler::FleetReconciler(Store* store, Options options)
    : store_(store),
      options_(std::move(options)),
      metrics_(options_.metrics != nullptr ? options_.metrics : &own_registry_),
      events_(store, EventOptions(options_)) {}

FleetReconciler::~FleetReconciler() { Stop(); }

void FleetReconciler::Start() {
  loop_thread_ = std::thread([this] { RunLoop(); });
  watch_thread_ = std::thread([this] { WatchStore(); });
}

void FleetReconciler::Stop() {
  {
    absl::MutexLock l(&loop_mu_);
    stopping_ = true;
  }
  if (loop_thread_.joinable()) loop_thread_.join();
  if (watch_thread_.joinable()) watch_thread_.join();
}

void FleetReconciler::Kick() {
  absl::MutexLock l(&loop_mu_);
  kicked_ = true;
}

void FleetReconciler::RunLoop() {
  absl::Duration backoff = absl::Milliseconds(100);
  while (true) {
    {
      absl::MutexLock l(&loop_mu_);
      loop_mu_.AwaitWithTimeout(absl::Condition(
                                    +[](FleetReconciler* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                                         r->loop_mu_) { return r->kicked_ || r->stopping_; },
                                    this),
                                options_.resync_period);
      if (stopping_) return;
      kicked_ = false;
    }
    absl::Status s = ReconcileOnce();
    if (s.ok()) {
      backoff = absl::Milliseconds(100);
      continue;
    }
    LogWarning("reconcile failed; retrying",
               {{"error", s.ToString()}, {"backoff", absl::FormatDuration(backoff)}});
    absl::MutexLock l(&loop_mu_);
    loop_mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
    kicked_ = true;
    backoff = std::min(backoff * 2, absl::Seconds(10));
  }
}

void FleetReconciler::WatchStore() {
  int64_t revision = store_->CurrentRevision();
  while (true) {
    {
      absl::MutexLock l(&loop_mu_);
      if (stopping_) return;
    }
    if (store_->WaitForChange(revision, options_.store_poll)) {
      revision = store_->CurrentRevision();
      Kick();
    }
  }
}

namespace {

// The stored object decoded as `want`, or nothing (logged) if it is not one.
std::optional<Object> DecodeAs(const StoredObject& stored, Object::KindCase want) {
  absl::StatusOr<Object> object = DecodeStored(stored);
  if (!object.ok() || object->kind_case() != want) {
    LogError("skipping undecodable stored object",
             {{"kind", stored.kind},
              {"name", stored.name},
              {"error", object.ok() ? "wrong kind" : object.status().ToString()}});
    return std::nullopt;
  }
  return *std::move(object);
}

}  // namespace

absl::Status FleetReconciler::ListStore(Snapshot* snapshot) {
  // Changes from the earlier of the two listings on are replayed by the
  // next catch-up; replaying one already seen is harmless.
  int64_t first = 0;
  absl::StatusOr<int64_t> r = store_->List(kKindIPForward, [&](const StoredObject& stored) {
    if (auto o = DecodeAs(stored, Object::kIpForward)) {
      snapshot->forwards[stored.name] = {*std::move(o), stored.revision};
    }
    return true;
  });
  if (!r.ok()) return r.status();
  first = *r;
  r = store_->List(kKindNode, [&](const StoredObject& stored) {
    if (auto o = DecodeAs(stored, Object::kNode)) {
      snapshot->nodes[stored.name] = {*std::move(o), stored.revision};
    }
    return true;
  });
  if (!r.ok()) return r.status();
  snapshot->revision = std::min(first, *r);
  return absl::OkStatus();
}

absl::Status FleetReconciler::CatchUp(Snapshot* snapshot) {
  for (int round = 0; round < kMaxCatchUpRounds; ++round) {
    // SqliteStore never splits one revision's changes, so resuming after
    // the last revision seen skips nothing.
    absl::StatusOr<std::vector<Change>> changes =
        store_->ChangesSince(snapshot->revision, "", kCatchUpBatch);
    if (!changes.ok()) return changes.status();
    for (const Change& change : *changes) {
      const StoredObject& o = change.object;
      snapshot->revision = std::max(snapshot->revision, o.revision);
      std::map<std::string, Snapshot::Stored>* into = nullptr;
      Object::KindCase want = Object::KIND_NOT_SET;
      if (o.kind == kKindIPForward) {
        into = &snapshot->forwards;
        want = Object::kIpForward;
      } else if (o.kind == kKindNode) {
        into = &snapshot->nodes;
        want = Object::kNode;
      } else {
        continue;  // events
      }
      auto it = into->find(o.name);
      if (it != into->end() && it->second.revision > o.revision) continue;  // already newer
      if (change.type == Change::Type::kDelete) {
        if (it != into->end()) into->erase(it);
      } else if (auto decoded = DecodeAs(o, want)) {
        (*into)[o.name] = {*std::move(decoded), o.revision};
      }
    }
    if (changes->size() < kCatchUpBatch) return absl::OkStatus();
  }
  return absl::OutOfRangeError("too many changes to catch up on; re-listing");
}

absl::StatusOr<const FleetReconciler::Snapshot*> FleetReconciler::ReadStore() {
  if (snapshot_ != nullptr) {
    absl::Status s = CatchUp(snapshot_.get());
    if (s.ok()) return snapshot_.get();
    snapshot_.reset();
    // The change log was compacted past us (or is too long): start over.
    if (!absl::IsOutOfRange(s)) return s;
    LogInfo("re-listing the store", {{"reason", std::string(s.message())}});
  }
  auto fresh = std::make_unique<Snapshot>();
  if (absl::Status s = ListStore(fresh.get()); !s.ok()) return s;
  if (absl::Status s = CatchUp(fresh.get()); !s.ok()) return s;
  snapshot_ = std::move(fresh);
  return snapshot_.get();
}

std::vector<Node> FleetReconciler::DesiredNodes(const Snapshot& snapshot) {
  absl::Time now = options_.clock();
  std::map<std::string, Node> desired;
  for (const auto& [name, stored] : snapshot.nodes) desired[name] = stored.object.node();
  for (auto& [name, node] : desired) {
    auto st = nodes_.find(name);
    bool connected_before = false;
    for (const Condition& c : node.status().conditions()) {
      if (c.type() == kConditionConnected && c.status() == "True") connected_before = true;
    }
    // A node this controller never heard from is not connected to it, even
    // if the store says so from before a restart.
    if ((st == nodes_.end() || !st->second.seen) && connected_before) {
      SetConnected(false, "", now, &node);
    }
  }
  for (const auto& [name, st] : nodes_) {
    if (!st.seen) continue;
    Node& node = desired[name];
    if (node.metadata().uid().empty()) {
      node.set_api_version(kApiVersion);
      node.set_kind(kKindNode);
      node.mutable_metadata()->set_name(name);
      node.mutable_metadata()->set_uid(NewUid());
      node.mutable_metadata()->set_generation(1);
      SetTimestamp(now, node.mutable_metadata()->mutable_creation_timestamp());
    }
    // The agent is the source of truth for its labels and addresses.
    *node.mutable_metadata()->mutable_labels() = st.hello.labels();
    *node.mutable_status()->mutable_addresses() = st.hello.addresses();
    node.mutable_status()->set_agent_version(st.hello.agent_version());
    node.mutable_status()->set_applied_config_version(st.acked ? st.acked->version() : "");
    SetTimestamp(st.last_seen, node.mutable_status()->mutable_last_seen());
    SetConnected(st.session != nullptr, st.hello.agent_version(), now, &node);
    if (const ferry::v1::DriftReport* report = drift_.Latest(name)) {
      ReplaceCondition(InSyncCondition(*report, node.metadata().generation()), now, &node);
    }
  }
  std::vector<Node> out;
  for (auto& [name, node] : desired) out.push_back(std::move(node));
  return out;
}

void FleetReconciler::PushChanged(const FleetPlan& plan, absl::Time pass_start) {
  for (auto& [name, st] : nodes_) {
    Session* s = st.session;
    if (s == nullptr) continue;
    auto it = plan.node_configs.find(name);
    if (it == plan.node_configs.end()) continue;
    const NodeConfig& config = it->second;
    if (s->pushed_version == config.version()) continue;
    ferry::v1::ControllerMessage message;
    s->last_nonce = absl::StrCat(++s->nonce);
    ferry::v1::ConfigPush* push = message.mutable_push();
    push->set_nonce(s->last_nonce);
    std::optional<ferry::v1::NodeConfigDelta> delta = DeltaFor(*s, st, config);
    if (delta) {
      *push->mutable_delta() = *std::move(delta);
    } else {
      *push->mutable_config() = config;
    }
    s->sink->Push(message);
    metrics_.ConfigPushed(name, delta ? kPushDelta : kPushFull);
    s->pushed_version = config.version();
    s->last_push_acked = false;
    st.pushed = config;
    st.pushed_change_seen = pass_start;
    st.push_nacked = false;
    st.nack_error.clear();
    st.nack_forward_errors.clear();
    LogInfo("pushed config",
            {{"node", name},
             {"version", config.version()},
             {"nonce", s->last_nonce},
             {"kind", push->has_delta() ? kPushDelta : kPushFull},
             {"changed_forwards",
              push->has_delta() ? absl::StrCat(push->delta().forwards_size()) : "all"},
             {"dnat", absl::StrCat(config.dnat_size())},
             {"return_routes", absl::StrCat(config.return_routes_size())}});
  }
}

std::optional<ferry::v1::NodeConfigDelta> FleetReconciler::DeltaFor(const Session& session,
                                                                    const NodeState& state,
                                                                    const NodeConfig& config) {
  // Only on top of a config this stream's agent is known to hold: the first
  // push of a stream, one after an un-ACKed push (in flight or NACKed) and
  // one to an agent that predates deltas are full.
  if (!session.delta_capable || !session.last_push_acked || !state.acked ||
      state.acked->version() != session.pushed_version) {
    return std::nullopt;
  }
  ferry::v1::NodeConfigDelta delta = ComputeDelta(*state.acked, config);
  // When most forwards changed, the whole config is the smaller message.
  if (delta.ByteSizeLong() >= config.ByteSizeLong()) return std::nullopt;
  return delta;
}

std::map<std::string, NodeAckInfo> FleetReconciler::AcksFor(const IPForward& forward,
                                                            const ForwardResolution& resolution) {
  std::map<std::string, NodeAckInfo> acks;
  const std::string& name = forward.metadata().name();
  int64_t generation = forward.metadata().generation();
  for (const InvolvedNode& involved : resolution.nodes) {
    auto it = nodes_.find(involved.name);
    if (it == nodes_.end()) continue;
    const NodeState& st = it->second;
    NodeAckInfo info;
    if (st.acked) info.acked_generation = GenerationIn(*st.acked, name, involved.role);
    std::optional<int64_t> pushed_generation =
        st.pushed ? GenerationIn(*st.pushed, name, involved.role) : std::nullopt;
    if (info.acked_generation == generation) {
      // ACKed as a whole, but the agent may report this forward failed.
      if (auto e = st.acked_forward_errors.find(name); e != st.acked_forward_errors.end()) {
        info.nacked = true;
        info.error = e->second;
      }
    } else if (st.push_nacked && pushed_generation == generation) {
      // A NACK that names forwards blames only those; one that does not
      // blames every forward the rejected push would have changed.
      if (st.nack_forward_errors.empty()) {
        info.nacked = true;
        info.error = st.nack_error;
      } else if (auto e = st.nack_forward_errors.find(name); e != st.nack_forward_errors.end()) {
        info.nacked = true;
        info.error = e->second;
      }
    }
    acks[involved.name] = std::move(info);
  }
  return acks;
}

WriteOp FleetReconciler::WriteOf(const Object& desired, int64_t expected_revision) {
  WriteOp op;
  op.kind = StoreKindOf(desired);
  op.name = MetaOf(desired).name();
  op.value = EncodeForStore(desired);
  op.expected_revision = expected_revision;
  return op;
}

absl::Status FleetReconciler::CommitWrites(const std::vector<WriteOp>& ops) {
  absl::Status result = absl::OkStatus();
  // One fsync per batch, not per status: after a bulk apply every forward's
  // status changes at once.
  for (size_t begin = 0; begin < ops.size(); begin += kStatusWriteBatch) {
    size_t end = std::min(ops.size(), begin + kStatusWriteBatch);
    std::vector<WriteOp> batch(ops.begin() + begin, ops.begin() + end);
    absl::StatusOr<int64_t> r = store_->Commit(batch);
    if (r.ok()) continue;
    if (r.status().code() != absl::StatusCode::kAborted) {
      result = r.status();
      continue;
    }
    // A stale precondition fails the whole batch: write the rest one by one.
    for (const WriteOp& op : batch) {
      absl::StatusOr<int64_t> one = store_->Commit({op});
      if (one.ok()) continue;
      if (one.status().code() == absl::StatusCode::kAborted) {
        // Someone wrote it since we read it: the next pass sees their write.
        LogDebug("status write lost a race; replanning", {{"kind", op.kind}, {"name", op.name}});
        Kick();
        continue;
      }
      result = one.status();
    }
  }
  return result;
}

absl::Status FleetReconciler::ReconcileOnce() {
  absl::Status fleet = ReconcileFleet();
  // Events are written here, on the reconcile thread, whatever the pass did.
  absl::Status events = events_.Flush();
  if (!events.ok()) LogWarning("writing events failed", {{"error", events.ToString()}});
  return fleet.ok() ? events : fleet;
}

void FleetReconciler::UpdateNodeMetrics(const std::vector<Node>& nodes) {
  std::set<std::string> present;
  for (const Node& node : nodes) {
    const std::string& name = node.metadata().name();
    present.insert(name);
    auto st = nodes_.find(name);
    metrics_.SetConnected(name, st != nodes_.end() && st->second.session != nullptr);
    if (const ferry::v1::DriftReport* report = drift_.Latest(name)) {
      metrics_.SetInSync(name, report->in_sync());
    }
  }
  for (const std::string& gone : metric_nodes_) {
    if (present.count(gone) == 0) metrics_.ForgetNode(gone);
  }
  metric_nodes_ = std::move(present);
}

absl::Status FleetReconciler::ReconcileFleet() {
  absl::Time pass_start = options_.clock();
  absl::MutexLock pass(&pass_mu_);
  absl::StatusOr<const Snapshot*> snapshot = ReadStore();
  if (!snapshot.ok()) return snapshot.status();
  const Snapshot& stored_state = **snapshot;
  absl::Time now = options_.clock();

  std::vector<Object> node_writes;
  std::vector<const Snapshot::Stored*> forwards;  // name order
  forwards.reserve(stored_state.forwards.size());
  for (const auto& [name, stored] : stored_state.forwards) forwards.push_back(&stored);
  std::vector<ferry::v1::IPForwardStatus> statuses;  // parallel to `forwards`
  statuses.reserve(forwards.size());
  {
    absl::MutexLock l(&mu_);
    std::vector<Node> nodes = DesiredNodes(stored_state);
    std::vector<const IPForward*> declared;
    declared.reserve(forwards.size());
    for (const Snapshot::Stored* f : forwards) declared.push_back(&f->object.ip_forward());
    FleetPlan plan = PlanFleetOf(declared, nodes);
    PushChanged(plan, pass_start);
    UpdateNodeMetrics(nodes);
    for (Node& node : nodes) *node_writes.emplace_back().mutable_node() = std::move(node);
    std::map<std::pair<std::string, std::string>, int> by_condition;
    for (const IPForward* forward : declared) {
      const ForwardResolution& resolution = plan.forwards.at(forward->metadata().name());
      ferry::v1::IPForwardStatus& status = statuses.emplace_back(ComputeStatus(
          *forward, resolution, AcksFor(*forward, resolution), now, forward->status()));
      SetCondition(DriftedCondition(*forward, drift_.UnrepairedFor(forward->metadata().name(),
                                                                   resolution.nodes)),
                   now, forward->status().conditions(), status.mutable_conditions());
      for (const Condition& c : status.conditions()) ++by_condition[{c.type(), c.status()}];
    }
    metrics_.SetForwards(by_condition);
  }
  // Store I/O happens outside the lock so streams never wait on fsync.
  std::vector<WriteOp> writes;
  for (const Object& desired : node_writes) {
    auto it = stored_state.nodes.find(desired.node().metadata().name());
    if (it == stored_state.nodes.end()) {
      writes.push_back(WriteOf(desired, WriteOp::kMustNotExist));
    } else if (!google::protobuf::util::MessageDifferencer::Equals(desired, it->second.object)) {
      writes.push_back(WriteOf(desired, it->second.revision));
    }
  }
  for (size_t i = 0; i < statuses.size(); ++i) {
    const Snapshot::Stored& stored = *forwards[i];
    // The reconciler writes only the status; the rest is the stored object.
    // Serialized bytes compare far faster than reflection at 100k forwards
    // (a status has no map fields, so its serialization is deterministic).
    if (statuses[i].SerializeAsString() ==
        stored.object.ip_forward().status().SerializeAsString()) {
      continue;
    }
    Object desired = stored.object;
    *desired.mutable_ip_forward()->mutable_status() = std::move(statuses[i]);
    writes.push_back(WriteOf(desired, stored.revision));
  }
  return CommitWrites(writes);
}

SessionHandle* FleetReconciler::Connect(const std::string& node_name, const ferry::v1::Hello& hello,
                                        PushSink* sink) {
  absl::MutexLock l(&mu_);
  auto session = std::make_unique<Session>();
  session->id = next_session_id_++;
  session->node = node_name;
  session->sink = sink;
  session->delta_capable = AgentVersionAtLeast(hello.agent_version(), kMinDeltaAgentVersion);
  NodeState& st = nodes_[node_name];
  if (st.session != nullptr) {
    st.session->active = false;
    st.session->sink->Close(
        absl::AbortedError(absl::StrCat("replaced by a newer stream for node ", node_name)));
    LogInfo("agent stream replaced", {{"node", node_name}});
  }
  // What the agent runs is what it says it applied; if that is not what we
  // saw it ACK, our record of its state is stale.
  if (st.acked && st.acked->version() != hello.last_applied_version()) {
    st.acked.reset();
    st.acked_forward_errors.clear();
  }
  st.session = session.get();
  st.seen = true;
  RecordNodeEvent(node_name, true);
  st.hello = hello;
  st.last_seen = options_.clock();
  LogInfo("agent connected", {{"node", node_name},
                              {"agent_version", hello.agent_version()},
                              {"last_applied_version", hello.last_applied_version()}});
  SessionHandle* handle = session.get();
  sessions_[handle] = std::move(session);
  Kick();
  return handle;
}

void FleetReconciler::OnAck(SessionHandle* handle, const ferry::v1::ConfigAck& ack) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(handle);
  if (it == sessions_.end() || !it->second->active) return;
  Session* s = it->second.get();
  if (ack.nonce() != s->last_nonce) {
    LogDebug("ignoring stale ack",
             {{"node", s->node}, {"nonce", ack.nonce()}, {"expected", s->last_nonce}});
    return;
  }
  NodeState& st = nodes_[s->node];
  if (!ack.accepted() && absl::StartsWith(ack.error(), kBaseVersionMismatch)) {
    // The agent holds another version than the delta's base: not a failure
    // of the config, so no event; the next pass pushes it whole.
    LogInfo("delta rejected; pushing the full config",
            {{"node", s->node}, {"version", ack.version()}, {"error", ack.error()}});
    s->pushed_version.clear();
    s->last_push_acked = false;
    Kick();
    return;
  }
  if (ack.accepted()) {
    if (st.pushed) metrics_.ApplyLatency(options_.clock() - st.pushed_change_seen);
    s->last_push_acked = true;
    st.acked = st.pushed;
    st.acked_forward_errors = {ack.forward_errors().begin(), ack.forward_errors().end()};
    st.push_nacked = false;
    LogInfo("config acked", {{"node", s->node}, {"version", ack.version()}});
    if (!ack.forward_errors().empty()) RecordApplyFailure(s->node, ack);
  } else {
    st.push_nacked = true;
    st.nack_error = ack.error();
    st.nack_forward_errors = {ack.forward_errors().begin(), ack.forward_errors().end()};
    LogWarning("config nacked",
               {{"node", s->node}, {"version", ack.version()}, {"error", ack.error()}});
    RecordApplyFailure(s->node, ack);
  }
  Kick();
}

void FleetReconciler::OnAddresses(SessionHandle* handle, const ferry::v1::AddressUpdate& update) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(handle);
  if (it == sessions_.end() || !it->second->active) return;
  *nodes_[it->second->node].hello.mutable_addresses() = update.addresses();
  Kick();
}

void FleetReconciler::OnDrift(SessionHandle* handle, const ferry::v1::DriftReport& report) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(handle);
  if (it == sessions_.end() || !it->second->active) return;
  const std::string& node = it->second->node;
  // Only queued here; the reconcile thread writes them.
  for (EventOccurrence& o : drift_.OnReport(node, report, options_.clock(), &metrics_)) {
    events_.Record(std::move(o));
  }
  LogInfo("drift report", {{"node", node},
                           {"in_sync", report.in_sync() ? "true" : "false"},
                           {"items", absl::StrCat(report.items_size())},
                           {"trigger", report.trigger()},
                           {"config_version", report.config_version()}});
  Kick();
}

void FleetReconciler::RecordApplyFailure(const std::string& node, const ferry::v1::ConfigAck& ack) {
  metrics_.ApplyFailed(node);
  for (EventOccurrence& o : ApplyFailedEvents(node, ack, options_.clock())) {
    events_.Record(std::move(o));
  }
}

void FleetReconciler::RecordNodeEvent(const std::string& node, bool connected) {
  events_.Record(NodeStreamEvent(node, connected, options_.clock()));
}

void FleetReconciler::Disconnect(SessionHandle* handle) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(handle);
  if (it == sessions_.end()) return;
  Session* s = it->second.get();
  NodeState& st = nodes_[s->node];
  if (st.session == s) {
    st.session = nullptr;
    st.last_seen = options_.clock();
    LogInfo("agent disconnected", {{"node", s->node}});
    RecordNodeEvent(s->node, false);
    Kick();
  }
  sessions_.erase(it);
}

}  // namespace ferry::controller
