#include "controller/fleet/fleet_reconciler.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/lib/log.h"
#include "controller/fleet/fleet_events.h"

namespace ferry::controller {
namespace {

using ferry::v1::Node;

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
      own_statuses_(options_.statuses == nullptr ? std::make_unique<ForwardStatuses>(store)
                                                 : nullptr),
      statuses_(options_.statuses != nullptr ? options_.statuses : own_statuses_.get()),
      metrics_(options_.metrics != nullptr ? options_.metrics : &own_registry_),
      events_(store, EventOptions(options_)),
      pushes_(&dirty_),
      sessions_({&pushes_, &presence_, &drift_, &data_path_, &dirty_, &events_, &metrics_,
                 options_.clock, [this] { trigger_.Kick(); }}),
      snapshot_(store, options_.handoff),
      status_(store, {&snapshot_, statuses_, &pushes_, &drift_, &data_path_, &dirty_,
                      options_.clock, [this] { trigger_.Kick(); }, options_.pending_grace}) {}

FleetReconciler::~FleetReconciler() { Stop(); }

void FleetReconciler::Follow() {
  follow_thread_ = std::thread([this] { FollowStore(); });
}

void FleetReconciler::FollowStore() {
  absl::Time warned = absl::InfinitePast();
  while (!follow_done_.load() && !trigger_.stopping()) {
    const int64_t revision = store_->CurrentRevision();
    {
      absl::MutexLock pass(&pass_mu_);
      absl::StatusOr<FleetSnapshot::Changes> changes = snapshot_.Refresh();
      if (changes.ok()) {
        standby_ = true;
      } else if (absl::Now() - warned > absl::Seconds(10)) {
        warned = absl::Now();
        LogWarning("follower: catching up with the store failed; retrying",
                   {{"error", changes.status().ToString()}});
      }
    }
    if (WaitForStoreChange(*store_, revision, options_.store_poll) == StoreWait::kStopped) {
      trigger_.WaitForStop(options_.store_poll);
    }
  }
}

void FleetReconciler::Start() {
  follow_done_ = true;
  if (follow_thread_.joinable()) follow_thread_.join();
  loop_thread_ = std::thread([this] { RunLoop(); });
  watch_thread_ = std::thread([this] { WatchStore(); });
}

void FleetReconciler::Stop() {
  trigger_.Stop();
  follow_done_ = true;
  if (follow_thread_.joinable()) follow_thread_.join();
  if (loop_thread_.joinable()) loop_thread_.join();
  if (watch_thread_.joinable()) watch_thread_.join();
}

void FleetReconciler::RunLoop() {
  absl::Duration backoff = absl::Milliseconds(100);
  while (trigger_.Wait(options_.resync_period)) {
    absl::Status s = ReconcileOnce();
    if (s.ok()) {
      backoff = absl::Milliseconds(100);
      continue;
    }
    LogWarning("reconcile failed; retrying",
               {{"error", s.ToString()}, {"backoff", absl::FormatDuration(backoff)}});
    trigger_.Backoff(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(10));
  }
}

void FleetReconciler::WatchStore() {
  int64_t revision = store_->CurrentRevision();
  while (!trigger_.stopping()) {
    switch (WaitForStoreChange(*store_, revision, options_.store_poll)) {
      case StoreWait::kChanged:
        revision = store_->CurrentRevision();
        trigger_.Kick();
        break;
      case StoreWait::kStopped:
        // Shutting down: wait for our own stop instead of spinning.
        trigger_.WaitForStop(options_.store_poll);
        break;
      case StoreWait::kTimedOut:
        break;
    }
  }
}

absl::Status FleetReconciler::ReconcileOnce() {
  absl::Status fleet = ReconcileFleet();
  // Events are written here, on the reconcile thread, whatever the pass did.
  absl::Status events = events_.Flush();
  if (!events.ok()) LogWarning("writing events failed", {{"error", events.ToString()}});
  return fleet.ok() ? events : fleet;
}

void FleetReconciler::UpdateNodeMetrics(const std::vector<Node>& nodes) {
  const std::set<std::string> connected = presence_.ConnectedNodes();
  std::map<std::string, FleetMetrics::NodeGauges> gauges;
  for (const Node& node : nodes) {
    const std::string& name = node.metadata().name();
    FleetMetrics::NodeGauges& g = gauges[name];
    g.connected = connected.count(name) > 0;
    g.in_sync = drift_.InSync(name);
  }
  metrics_.SetNodes(gauges);
}

absl::StatusOr<std::set<std::string>> FleetReconciler::ReadStore(absl::Time pass_start, bool* all) {
  absl::StatusOr<FleetSnapshot::Changes> changes = snapshot_.Refresh();
  if (!changes.ok()) return changes.status();
  if (standby_) {
    // Taking over from standby: the planner has seen none of it.
    standby_ = false;
    changes->relisted = true;
    for (const auto& [name, stored] : snapshot_.forwards()) changes->specs.insert(name);
  }
  *all = changes->relisted || pass_start - last_full_ >= options_.full_resync_period;
  if (changes->relisted) {
    // A listing reports no deletions. The planner is kept, not replaced:
    // its node plans remember what was pushed, so the next push can still
    // be a delta.
    planner_.RemoveForwardsExcept([this](const std::string& name) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return snapshot_.forwards().count(name) > 0;
    });
    status_.ForgetAllExceptSnapshot();
  }
  if (*all) {
    planner_.Invalidate();
    last_full_ = pass_start;
  }
  for (const std::string& name : changes->removed) {
    planner_.RemoveForward(name);
    data_path_.Forget(name, &metrics_);
  }
  status_.Forget(changes->removed);
  for (const std::string& name : changes->specs) {
    planner_.SetForward(snapshot_.forwards().at(name).forward);
  }
  std::set<std::string> dirty = status_.TakeRetries();
  MergeNames(&dirty, status_.TakeDue(pass_start));
  MergeNames(&dirty, std::move(changes->statuses));
  return dirty;
}

absl::Status FleetReconciler::ReconcileFleet() {
  const absl::Time pass_start = options_.clock();
  absl::MutexLock pass(&pass_mu_);
  bool all = false;
  absl::StatusOr<std::set<std::string>> dirty = ReadStore(pass_start, &all);
  if (!dirty.ok()) return dirty.status();
  const absl::Time now = options_.clock();

  // Agent streams wait on the parts' locks (an ACK, a Hello), so the pass
  // takes each only for a lookup or an update: planning 100k forwards or
  // computing their statuses under one would hold a big node's ACK back by
  // a second.
  std::vector<Node> nodes = status_.DesiredNodes(presence_.Agents(), now);
  planner_.SetNodes(nodes);
  IncrementalPlanner::Update update = planner_.Plan();
  // Staged rollouts move on by what the nodes ACKed since the last pass,
  // on this pass's resolutions; a wake-up at the earliest deadline catches
  // a node that never answers.
  const IncrementalPlanner::RolloutStep rollouts = planner_.AdvanceRollouts(
      now, [this](const PlanForward& forward, const std::vector<InvolvedNode>& nodes) {
        std::map<std::string, NodeAckInfo> acks = pushes_.AcksFor(forward, nodes);
        data_path_.AddVerdictsTo(forward.name, nodes, &acks);
        return acks;
      });
  for (const auto& [forward, why] : rollouts.rolled_back) {
    LogWarning("change rolled back: its probe failed", {{"forward", forward}, {"why", why}});
    events_.Record(RolledBackEvent(forward, why, now));
  }
  if (rollouts.changed) {
    IncrementalPlanner::Update more = planner_.Plan();
    update.full = update.full || more.full;
    update.forwards.insert(update.forwards.end(), more.forwards.begin(), more.forwards.end());
    update.nodes.insert(update.nodes.end(), more.nodes.begin(), more.nodes.end());
  }
  if (rollouts.next_deadline.has_value()) {
    trigger_.KickAfter(*rollouts.next_deadline - options_.clock());
  }
  const absl::Time planned = options_.clock();

  for (const auto& [node, kind] : pushes_.PushChanged(&planner_, pass_start, planned)) {
    metrics_.ConfigPushed(node, kind);
  }
  const absl::Time pushed = options_.clock();
  UpdateNodeMetrics(nodes);
  // News that arrives from here on marks its forwards again for the next
  // pass, which its kick starts.
  MergeNames(&*dirty, dirty_.Take());

  // The planner holds what the snapshot does (ReadStore brought it up to
  // date), with each forward's resolution beside it.
  std::vector<StatusWriter::Input> recompute;
  auto take = [&](const PlanForward& forward, const ForwardResolution& resolution) {
    recompute.push_back({&forward, &resolution});
  };
  if (all || update.full) {
    recompute.reserve(planner_.forward_count());
    planner_.ForEachForward(take);
  } else {
    dirty->insert(update.forwards.begin(), update.forwards.end());
    recompute.reserve(dirty->size());
    planner_.ForEachForwardOf(*dirty, take);
  }

  // Store I/O happens outside every part's lock, so streams never wait on
  // fsync.
  StatusWriter::Stats stats;
  absl::Status committed = status_.WriteNodes(std::move(nodes), &stats);
  absl::Status statuses = status_.WriteStatuses(recompute, now, &stats);
  if (committed.ok()) committed = statuses;
  if (std::optional<absl::Time> due = status_.NextDue()) {
    trigger_.KickAfter(*due - options_.clock());
  }
  metrics_.SetForwards(status_.condition_counts());
  if (LogEnabled(LogLevel::kDebug)) {
    auto ms = [](absl::Duration d) {
      return absl::StrFormat("%.1f", absl::ToDoubleMilliseconds(d));
    };
    LogDebug("reconcile pass", {{"full", all || update.full ? "true" : "false"},
                                {"replanned", absl::StrCat(update.forwards.size())},
                                {"statuses", absl::StrCat(recompute.size())},
                                {"writes", absl::StrCat(stats.writes)},
                                {"superseded", absl::StrCat(stats.superseded)},
                                {"read_ms", ms(now - pass_start)},
                                {"plan_ms", ms(planned - now)},
                                {"push_ms", ms(pushed - planned)},
                                {"status_ms", ms(stats.compute)},
                                {"commit_ms", ms(stats.commit)}});
  }
  return committed;
}

}  // namespace ferry::controller
