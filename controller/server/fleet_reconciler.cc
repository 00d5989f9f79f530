#include "controller/server/fleet_reconciler.h"

#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/lib/log.h"
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
};

struct FleetReconciler::Snapshot {
  struct Stored {
    ferry::v1::Object object;
    int64_t revision = 0;
  };
  std::vector<Stored> forwards;         // name order
  std::map<std::string, Stored> nodes;  // by name
};

namespace {

using ferry::v1::Condition;
using ferry::v1::IPForward;
using ferry::v1::Node;
using ferry::v1::NodeConfig;
using ferry::v1::Object;

constexpr char kApiVersion[] = "ferry.dev/v1";
constexpr char kConditionConnected[] = "Connected";

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

absl::StatusOr<FleetReconciler::Snapshot> FleetReconciler::ReadStore() {
  Snapshot snapshot;
  auto decode = [](const StoredObject& stored, Object::KindCase want) -> std::optional<Object> {
    absl::StatusOr<Object> object = DecodeStored(stored);
    if (!object.ok() || object->kind_case() != want) {
      LogError("skipping undecodable stored object",
               {{"kind", stored.kind},
                {"name", stored.name},
                {"error", object.ok() ? "wrong kind" : object.status().ToString()}});
      return std::nullopt;
    }
    return *std::move(object);
  };
  absl::StatusOr<int64_t> r = store_->List(kKindIPForward, [&](const StoredObject& stored) {
    if (auto o = decode(stored, Object::kIpForward)) {
      snapshot.forwards.push_back({*std::move(o), stored.revision});
    }
    return true;
  });
  if (!r.ok()) return r.status();
  r = store_->List(kKindNode, [&](const StoredObject& stored) {
    if (auto o = decode(stored, Object::kNode)) {
      snapshot.nodes[stored.name] = {*std::move(o), stored.revision};
    }
    return true;
  });
  if (!r.ok()) return r.status();
  return snapshot;
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
    message.mutable_push()->set_nonce(s->last_nonce);
    *message.mutable_push()->mutable_config() = config;
    s->sink->Push(message);
    s->pushed_version = config.version();
    st.pushed = config;
    st.pushed_change_seen = pass_start;
    st.push_nacked = false;
    st.nack_error.clear();
    st.nack_forward_errors.clear();
    LogInfo("pushed config", {{"node", name},
                              {"version", config.version()},
                              {"nonce", s->last_nonce},
                              {"dnat", absl::StrCat(config.dnat_size())},
                              {"return_routes", absl::StrCat(config.return_routes_size())}});
  }
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

absl::Status FleetReconciler::WriteIfChanged(const Object& desired, const Object* stored,
                                             int64_t revision) {
  if (stored != nullptr && google::protobuf::util::MessageDifferencer::Equals(desired, *stored)) {
    return absl::OkStatus();
  }
  WriteOp op;
  op.kind = StoreKindOf(desired);
  op.name = MetaOf(desired).name();
  op.value = EncodeForStore(desired);
  op.expected_revision = stored != nullptr ? revision : WriteOp::kMustNotExist;
  absl::StatusOr<int64_t> r = store_->Commit({op});
  if (r.ok()) return absl::OkStatus();
  if (r.status().code() == absl::StatusCode::kAborted) {
    // Someone wrote it since we read it: the next pass sees their write.
    LogDebug("status write lost a race; replanning", {{"kind", op.kind}, {"name", op.name}});
    Kick();
    return absl::OkStatus();
  }
  return r.status();
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
  absl::StatusOr<Snapshot> snapshot = ReadStore();
  if (!snapshot.ok()) return snapshot.status();
  absl::Time now = options_.clock();

  std::vector<Object> node_writes;
  std::vector<Object> forward_writes;
  {
    absl::MutexLock l(&mu_);
    std::vector<Node> nodes = DesiredNodes(*snapshot);
    std::vector<IPForward> forwards;
    for (const auto& f : snapshot->forwards) forwards.push_back(f.object.ip_forward());
    FleetPlan plan = PlanFleet(forwards, nodes);
    PushChanged(plan, pass_start);
    UpdateNodeMetrics(nodes);
    for (Node& node : nodes) *node_writes.emplace_back().mutable_node() = std::move(node);
    std::map<std::pair<std::string, std::string>, int> by_condition;
    for (const auto& stored : snapshot->forwards) {
      const IPForward& forward = stored.object.ip_forward();
      const ForwardResolution& resolution = plan.forwards.at(forward.metadata().name());
      Object& desired = forward_writes.emplace_back(stored.object);
      ferry::v1::IPForwardStatus* status = desired.mutable_ip_forward()->mutable_status();
      *status =
          ComputeStatus(forward, resolution, AcksFor(forward, resolution), now, forward.status());
      SetCondition(DriftedCondition(
                       forward, drift_.UnrepairedFor(forward.metadata().name(), resolution.nodes)),
                   now, forward.status().conditions(), status->mutable_conditions());
      for (const Condition& c : status->conditions()) ++by_condition[{c.type(), c.status()}];
    }
    metrics_.SetForwards(by_condition);
  }
  // Store I/O happens outside the lock so streams never wait on fsync.
  absl::Status result = absl::OkStatus();
  for (const Object& desired : node_writes) {
    auto it = snapshot->nodes.find(desired.node().metadata().name());
    bool exists = it != snapshot->nodes.end();
    absl::Status s = WriteIfChanged(desired, exists ? &it->second.object : nullptr,
                                    exists ? it->second.revision : 0);
    if (!s.ok()) result = s;
  }
  for (size_t i = 0; i < forward_writes.size(); ++i) {
    const Snapshot::Stored& stored = snapshot->forwards[i];
    absl::Status s = WriteIfChanged(forward_writes[i], &stored.object, stored.revision);
    if (!s.ok()) result = s;
  }
  return result;
}

SessionHandle* FleetReconciler::Connect(const std::string& node_name, const ferry::v1::Hello& hello,
                                        PushSink* sink) {
  absl::MutexLock l(&mu_);
  auto session = std::make_unique<Session>();
  session->id = next_session_id_++;
  session->node = node_name;
  session->sink = sink;
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
  if (ack.accepted()) {
    if (st.pushed) metrics_.ApplyLatency(options_.clock() - st.pushed_change_seen);
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
