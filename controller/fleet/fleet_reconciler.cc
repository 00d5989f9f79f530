#include "controller/fleet/fleet_reconciler.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/lib/log.h"
#include "api/lib/objects.h"
#include "api/lib/timestamps.h"
#include "api/lib/uuid.h"
#include "controller/fleet/fleet_session.h"
#include "controller/store/object_codec.h"
#include "google/protobuf/util/message_differencer.h"

namespace ferry::controller {

namespace {

using ferry::v1::Condition;
using ferry::v1::IPForward;
using ferry::v1::Node;
using ferry::v1::NodeConfig;
using ferry::v1::Object;

constexpr char kApiVersion[] = "ferry.dev/v1";
constexpr char kConditionConnected[] = "Connected";

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
      events_(store, EventOptions(options_)),
      snapshot_(store) {}

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

std::vector<Node> FleetReconciler::DesiredNodes() {
  absl::Time now = options_.clock();
  std::map<std::string, Node> desired;
  for (const auto& [name, stored] : snapshot_.nodes()) desired[name] = stored.object.node();
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
      node.set_kind(api::kKindNode);
      node.mutable_metadata()->set_name(name);
      absl::BitGen gen;
      node.mutable_metadata()->set_uid(api::NewUuidV4(gen));
      node.mutable_metadata()->set_generation(1);
      api::SetTimestamp(now, node.mutable_metadata()->mutable_creation_timestamp());
    }
    // The agent is the source of truth for its labels and addresses.
    *node.mutable_metadata()->mutable_labels() = st.hello.labels();
    *node.mutable_status()->mutable_addresses() = st.hello.addresses();
    node.mutable_status()->set_agent_version(st.hello.agent_version());
    node.mutable_status()->set_applied_config_version(st.acked ? st.acked->version() : "");
    api::SetTimestamp(st.last_seen, node.mutable_status()->mutable_last_seen());
    SetConnected(st.session != nullptr, st.hello.agent_version(), now, &node);
    if (const ferry::v1::DriftReport* report = drift_.Latest(name)) {
      ReplaceCondition(InSyncCondition(*report, node.metadata().generation()), now, &node);
    }
  }
  std::vector<Node> out;
  for (auto& [name, node] : desired) out.push_back(std::move(node));
  return out;
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
    if (st.acked) info.acked_generation = st.acked.generations->Find(name, involved.role);
    std::optional<int64_t> pushed_generation =
        st.pushed ? st.pushed.generations->Find(name, involved.role) : std::nullopt;
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

absl::StatusOr<std::set<std::string>> FleetReconciler::ReadStore(absl::Time pass_start, bool* all) {
  absl::StatusOr<FleetSnapshot::Changes> changes = snapshot_.Refresh();
  if (!changes.ok()) return changes.status();
  *all = changes->relisted || pass_start - last_full_ >= options_.full_resync_period;
  if (changes->relisted) planner_ = IncrementalPlanner();
  if (*all) {
    planner_.Invalidate();
    last_full_ = pass_start;
  }
  for (const std::string& name : changes->removed) planner_.RemoveForward(name);
  for (const std::string& name : changes->specs) {
    planner_.SetForward(snapshot_.forwards().at(name).object.ip_forward());
  }
  std::set<std::string> dirty = std::move(retry_statuses_);
  retry_statuses_.clear();
  dirty.merge(changes->statuses);
  return dirty;
}

absl::Status FleetReconciler::ReconcileFleet() {
  absl::Time pass_start = options_.clock();
  absl::MutexLock pass(&pass_mu_);
  bool all = false;
  absl::StatusOr<std::set<std::string>> dirty = ReadStore(pass_start, &all);
  if (!dirty.ok()) return dirty.status();
  absl::Time now = options_.clock();
  const absl::Time read = now;

  // mu_ is what agent streams wait on (an ACK, a Hello), so the pass takes
  // it only in short spells: planning 100k forwards or computing their
  // statuses under it would hold a big node's ACK back by a second.
  std::vector<Node> nodes;
  {
    absl::MutexLock l(&mu_);
    nodes = DesiredNodes();
  }
  planner_.SetNodes(nodes);
  IncrementalPlanner::Update update = planner_.Plan();
  const absl::Time planned = options_.clock();

  std::vector<std::pair<Object, int64_t>> node_writes;  // with the revision read
  {
    absl::MutexLock l(&mu_);
    PushChanged(pass_start);
    UpdateNodeMetrics(nodes);
    // News that arrives from here on marks its forwards again for the next
    // pass, which its Kick starts.
    dirty->merge(status_dirty_);
    status_dirty_.clear();
  }
  for (Node& node : nodes) {
    Object desired;
    *desired.mutable_node() = std::move(node);
    auto it = snapshot_.nodes().find(desired.node().metadata().name());
    if (it == snapshot_.nodes().end()) {
      node_writes.emplace_back(std::move(desired), WriteOp::kMustNotExist);
    } else if (!google::protobuf::util::MessageDifferencer::Equals(desired, it->second.object)) {
      // The whole Node, not "did the spec change?" (api::SameSpec): its
      // status and labels are what this writes, and labels are a map, so
      // its bytes are not canonical.
      node_writes.emplace_back(std::move(desired), it->second.revision);
    }
  }
  std::vector<const FleetSnapshot::Stored*> recompute;
  if (all || update.full) {
    recompute.reserve(snapshot_.forwards().size());
    for (const auto& [name, stored] : snapshot_.forwards()) recompute.push_back(&stored);
  } else {
    dirty->insert(update.forwards.begin(), update.forwards.end());
    for (const std::string& name : *dirty) {
      auto it = snapshot_.forwards().find(name);
      if (it != snapshot_.forwards().end()) recompute.push_back(&it->second);
    }
  }

  size_t superseded = 0;  // for the debug log
  size_t write_count = node_writes.size();
  absl::Duration status_time, commit_time;
  // Store I/O happens outside mu_ so streams never wait on fsync.
  absl::Time t = options_.clock();
  absl::Status committed = CommitWrites(std::move(node_writes));
  commit_time += options_.clock() - t;
  // Statuses a chunk at a time: computed under mu_, committed outside it.
  // A forward that news (an ACK) marked since the pass began is skipped:
  // the pass that news kicked recomputes it. After a big node's first push
  // its ACK comes within a second, and the Pending statuses it makes stale
  // are then neither computed nor written.
  for (size_t begin = 0; begin < recompute.size(); begin += kStatusBatch) {
    t = options_.clock();
    std::vector<std::pair<Object, int64_t>> writes;
    {
      absl::MutexLock l(&mu_);
      for (size_t i = begin; i < std::min(recompute.size(), begin + kStatusBatch); ++i) {
        const FleetSnapshot::Stored& stored = *recompute[i];
        if (status_dirty_.count(stored.object.ip_forward().metadata().name()) > 0) {
          ++superseded;
          continue;
        }
        if (std::optional<Object> write = StatusWrite(stored, now)) {
          writes.emplace_back(*std::move(write), stored.revision);
        }
      }
    }
    const absl::Time computed = options_.clock();
    status_time += computed - t;
    write_count += writes.size();
    absl::Status s = CommitWrites(std::move(writes));
    if (committed.ok()) committed = s;
    commit_time += options_.clock() - computed;
  }
  metrics_.SetForwards(snapshot_.condition_counts());
  if (LogEnabled(LogLevel::kDebug)) {
    auto ms = [](absl::Duration d) {
      return absl::StrFormat("%.1f", absl::ToDoubleMilliseconds(d));
    };
    LogDebug("reconcile pass", {{"full", all || update.full ? "true" : "false"},
                                {"replanned", absl::StrCat(update.forwards.size())},
                                {"statuses", absl::StrCat(recompute.size())},
                                {"writes", absl::StrCat(write_count)},
                                {"superseded", absl::StrCat(superseded)},
                                {"read_ms", ms(read - pass_start)},
                                {"plan_ms", ms(planned - read)},
                                {"status_ms", ms(status_time)},
                                {"commit_ms", ms(commit_time)}});
  }
  return committed;
}

}  // namespace ferry::controller
