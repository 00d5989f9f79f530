#ifndef FERRY_CONTROLLER_FLEET_FLEET_RECONCILER_H_
#define FERRY_CONTROLLER_FLEET_FLEET_RECONCILER_H_

// The fleet's control loop: keeps every connected agent's config equal to
// the plan of what the store declares, and the store's Nodes and the
// forwards' statuses (ForwardStatuses) equal to what the agents report. Level-triggered, with work
// in proportion to what changed. Each pass
//   1. catches its FleetSnapshot up from the store's change log,
//   2. re-plans only the changed forwards and the nodes they touch
//      (IncrementalPlanner),
//   3. has the PushTracker push to the nodes whose config version changed
//      (just the changed forwards, as a NodeConfigDelta, when it can), and
//   4. has the StatusWriter write the Nodes, and publish the statuses whose
//      inputs changed (spec, resolution, a node's ACK/NACK, drift).
// A full recompute runs every `full_resync_period` as a safety net. Agent
// streams reach it as a SessionRegistry; FleetSessions routes their news.
// This class only owns the parts and wires them; it knows nothing about
// gRPC.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/observability/metrics.h"
#include "controller/fleet/datapath_tracker.h"
#include "controller/fleet/dirty_forwards.h"
#include "controller/fleet/drift_tracker.h"
#include "controller/fleet/event_recorder.h"
#include "controller/fleet/fleet_metrics.h"
#include "controller/fleet/fleet_sessions.h"
#include "controller/fleet/fleet_snapshot.h"
#include "controller/fleet/forward_statuses.h"
#include "controller/fleet/node_presence.h"
#include "controller/fleet/pass_trigger.h"
#include "controller/fleet/push_tracker.h"
#include "controller/fleet/session_registry.h"
#include "controller/fleet/status_writer.h"
#include "controller/planner/incremental_planner.h"
#include "controller/store/commit_handoff.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class FleetReconciler : public SessionRegistry {
 public:
  struct Options {
    std::function<absl::Time()> clock = [] { return absl::Now(); };
    // Also re-reconcile this often without any trigger.
    absl::Duration resync_period = absl::Seconds(30);
    // Recompute every plan and status from scratch this often, in case an
    // incremental pass missed an input (a pass costs ~1 s at 100k forwards).
    absl::Duration full_resync_period = absl::Minutes(10);
    // How long a forward's Pending status may wait for the ACK of the push
    // carrying it before it is written (StatusWriter::Sources); the
    // controller's --pending-grace.
    absl::Duration pending_grace = absl::ZeroDuration();
    // How long one store wait may block before Stop is noticed.
    absl::Duration store_poll = absl::Milliseconds(500);
    // Where the fleet's series go; a private registry if null.
    observability::Registry* metrics = nullptr;
    // Where forward statuses go (ResourceService serves them from there);
    // a private table if null.
    ForwardStatuses* statuses = nullptr;
    // Where the write path hands its commits over (ObjectWriter); they
    // are read back from the store if null. Not owned.
    CommitHandoff* handoff = nullptr;
    // Events kept in the store.
    size_t max_events = 1000;
    // Called from the reconcile thread for each Event written (e.g. to post
    // it to webhooks). Must not block.
    std::function<void(const ferry::v1::Event&)> on_event;
  };

  explicit FleetReconciler(Store* store);
  FleetReconciler(Store* store, Options options);
  ~FleetReconciler() override;

  FleetReconciler(const FleetReconciler&) = delete;
  FleetReconciler& operator=(const FleetReconciler&) = delete;

  // Starts the reconcile thread (and one that turns store changes into
  // triggers). Stop joins both; the destructor calls Stop.
  void Start();
  // A follower replica's standby, until Start: keeps the snapshot caught
  // up with the store on every change (a warm cache: a takeover plans at
  // once instead of listing 100k forwards first) and does nothing else: no
  // plan, push, status or write. Start (on election) ends it; its first
  // pass plans everything the snapshot holds.
  void Follow();
  // The store revision the snapshot has caught up to.
  int64_t SnapshotRevision() {
    absl::MutexLock pass(&pass_mu_);
    return snapshot_.revision();
  }
  void Stop();

  // One full pass. Start() runs this in a loop; tests call it directly.
  absl::Status ReconcileOnce();

  // SessionRegistry: stream news, handled by FleetSessions.
  SessionHandle* Connect(const std::string& node_name, const ferry::v1::Hello& hello,
                         PushSink* sink) override {
    return sessions_.Connect(node_name, hello, sink);
  }
  void OnAck(SessionHandle* session, const ferry::v1::ConfigAck& ack) override {
    sessions_.OnAck(session, ack);
  }
  void OnAddresses(SessionHandle* session, const ferry::v1::AddressUpdate& update) override {
    sessions_.OnAddresses(session, update);
  }
  void OnDrift(SessionHandle* session, const ferry::v1::DriftReport& report) override {
    sessions_.OnDrift(session, report);
  }
  void OnDataPath(SessionHandle* session, const ferry::v1::DataPathReport& report) override {
    sessions_.OnDataPath(session, report);
  }
  void Disconnect(SessionHandle* session) override { sessions_.Disconnect(session); }

  // The forwards' statuses this reconciler publishes.
  const ForwardStatuses& statuses() const { return *statuses_; }

  // After the Node was deleted (and its certificates revoked): ends its
  // stream with `why` and stops writing the Node back, so the deletion
  // holds until the node joins again.
  void ForgetNode(const std::string& node_name, const absl::Status& why) {
    sessions_.ForgetNode(node_name, why);
  }

 private:
  void RunLoop();
  void WatchStore();
  void FollowStore();
  absl::Status ReconcileFleet();
  // Feeds what the store's change log says changed to the planner; returns
  // the forwards whose status must be recomputed, or (`all`) all of them.
  absl::StatusOr<std::set<std::string>> ReadStore(absl::Time pass_start, bool* all)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_);
  // The connected and in-sync gauges of `nodes`.
  void UpdateNodeMetrics(const std::vector<ferry::v1::Node>& nodes);

  Store* const store_;
  const Options options_;
  observability::Registry own_registry_;
  std::unique_ptr<ForwardStatuses> own_statuses_;
  ForwardStatuses* const statuses_;
  FleetMetrics metrics_;
  EventRecorder events_;
  PassTrigger trigger_;

  // What streams report, each part locking itself.
  DirtyForwards dirty_;
  NodePresence presence_;
  DriftTracker drift_;
  DataPathTracker data_path_;
  PushTracker pushes_;
  FleetSessions sessions_;

  // One pass at a time; guards what passes keep between them. Taken before
  // any part's lock, never while one is held.
  absl::Mutex pass_mu_;
  FleetSnapshot snapshot_ ABSL_GUARDED_BY(pass_mu_);
  IncrementalPlanner planner_ ABSL_GUARDED_BY(pass_mu_);
  StatusWriter status_ ABSL_GUARDED_BY(pass_mu_);
  absl::Time last_full_ ABSL_GUARDED_BY(pass_mu_) = absl::InfinitePast();
  // The snapshot moved on without the planner (Follow): plan it all.
  bool standby_ ABSL_GUARDED_BY(pass_mu_) = false;

  std::thread loop_thread_;
  std::thread watch_thread_;
  std::atomic<bool> follow_done_{false};
  std::thread follow_thread_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_FLEET_RECONCILER_H_
