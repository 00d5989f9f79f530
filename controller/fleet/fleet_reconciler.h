#ifndef FERRY_CONTROLLER_FLEET_FLEET_RECONCILER_H_
#define FERRY_CONTROLLER_FLEET_FLEET_RECONCILER_H_

// Keeps every connected agent's config equal to the plan of what the store
// declares, and writes back what the agents report: forward statuses and
// Node objects, drift conditions, events and metrics. Level-triggered, with
// work in proportion to what changed: each pass catches the store's view up
// from the change log, re-plans only the changed forwards and the nodes they
// touch (IncrementalPlanner), pushes only to nodes whose config version
// changed (just the changed forwards, as a NodeConfigDelta, when the agent
// ACKed the previous push), and recomputes only the statuses whose inputs
// changed (spec, resolution, a node's ACK/NACK, drift). A full recompute runs
// every `full_resync_period` as a safety net. Knows nothing about gRPC;
// streams reach it through SessionRegistry and receive pushes through PushSink.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/fleet/config_generations.h"
#include "controller/fleet/drift_tracker.h"
#include "controller/fleet/event_recorder.h"
#include "controller/fleet/fleet_metrics.h"
#include "controller/fleet/fleet_snapshot.h"
#include "controller/observability/metrics.h"
#include "controller/planner/incremental_planner.h"
#include "controller/planner/planner.h"
#include "controller/planner/status.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// One agent stream as the reconciler sees it. Both calls must not block:
// they are made with the reconciler's lock held.
class PushSink {
 public:
  virtual ~PushSink() = default;
  // Enqueues a message for the agent.
  virtual void Push(const ferry::v1::ControllerMessage& message) = 0;
  // Ends the stream with `status` (e.g. replaced by a newer one). No Push
  // follows.
  virtual void Close(const absl::Status& status) = 0;
};

// Opaque token for one connected stream; valid until Disconnect.
class SessionHandle;

// What a stream tells the reconciler. Calls never block on I/O.
class SessionRegistry {
 public:
  virtual ~SessionRegistry() = default;
  // Registers a stream whose Hello (already checked against the
  // connection's identity) names `node_name`. A previous stream of that
  // node is closed with ABORTED. `sink` must outlive Disconnect.
  virtual SessionHandle* Connect(const std::string& node_name, const ferry::v1::Hello& hello,
                                 PushSink* sink) = 0;
  virtual void OnAck(SessionHandle* session, const ferry::v1::ConfigAck& ack) = 0;
  virtual void OnAddresses(SessionHandle* session, const ferry::v1::AddressUpdate& update) = 0;
  virtual void OnDrift(SessionHandle* session, const ferry::v1::DriftReport& report) = 0;
  // The stream ended; after this returns, `sink` is never used again.
  virtual void Disconnect(SessionHandle* session) = 0;
};

class FleetReconciler : public SessionRegistry {
 public:
  struct Options {
    std::function<absl::Time()> clock = [] { return absl::Now(); };
    // Also re-reconcile this often without any trigger.
    absl::Duration resync_period = absl::Seconds(30);
    // Recompute every plan and status from scratch this often, in case an
    // incremental pass missed an input (a pass costs ~1 s at 100k forwards).
    absl::Duration full_resync_period = absl::Minutes(10);
    // How long one store wait may block before Stop is noticed.
    absl::Duration store_poll = absl::Milliseconds(500);
    // Where the fleet's series go; a private registry if null.
    Registry* metrics = nullptr;
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
  void Stop();

  // One full pass. Start() runs this in a loop; tests call it directly.
  absl::Status ReconcileOnce();

  SessionHandle* Connect(const std::string& node_name, const ferry::v1::Hello& hello,
                         PushSink* sink) override;
  void OnAck(SessionHandle* session, const ferry::v1::ConfigAck& ack) override;
  void OnAddresses(SessionHandle* session, const ferry::v1::AddressUpdate& update) override;
  void OnDrift(SessionHandle* session, const ferry::v1::DriftReport& report) override;
  void Disconnect(SessionHandle* session) override;

  // After the Node was deleted (and its certificates revoked): ends its
  // stream with `why` and stops writing the Node back, so the deletion
  // holds until the node joins again.
  void ForgetNode(const std::string& node_name, const absl::Status& why);

 private:
  struct Session;
  // A config a node was pushed or ACKed, shared with the plan (no copy of a
  // 100k-forward config per push) and indexed for status lookups.
  struct NodeConfigRef {
    std::shared_ptr<const ferry::v1::NodeConfig> config;  // null: none
    std::shared_ptr<const ConfigGenerations> generations;
    explicit operator bool() const { return config != nullptr; }
    const ferry::v1::NodeConfig* operator->() const { return config.get(); }
  };
  // What this controller knows about one node's agent, across streams.
  struct NodeState {
    Session* session = nullptr;  // the active stream, if any
    bool seen = false;           // connected at least once since start
    ferry::v1::Hello hello;      // addresses replaced by AddressUpdate
    absl::Time last_seen;
    NodeConfigRef pushed;  // last config pushed
    // Start of the pass that planned `pushed`: when the change that led to
    // it was read from the store. Apply latency runs from here to the ACK.
    absl::Time pushed_change_seen;
    NodeConfigRef acked;  // last config ACKed
    std::map<std::string, std::string> acked_forward_errors;
    bool push_nacked = false;  // the last push was NACKed
    std::string nack_error;
    std::map<std::string, std::string> nack_forward_errors;
  };

  void Kick();
  void RunLoop();
  void WatchStore();
  // Feeds what the store's change log says changed to the planner; returns
  // the forwards whose status must be recomputed, or all of them.
  absl::StatusOr<std::set<std::string>> ReadStore(absl::Time pass_start, bool* all)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_);
  std::vector<ferry::v1::Node> DesiredNodes() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_, mu_);
  void PushChanged(absl::Time pass_start) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_, mu_);
  // A new stream whose Hello says the agent applied exactly `config` (a
  // controller restart, a reconnect) has it taken as ACKed, with the Hello's
  // forward errors, instead of a push. False when it must be pushed.
  bool AdoptApplied(absl::Time pass_start, Session* s, NodeState* st,
                    const std::shared_ptr<const ferry::v1::NodeConfig>& config)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The stream was sent `config` (or, `adopted`, already holds it: then it
  // also counts as ACKed with the Hello's forward errors).
  void MarkPushed(absl::Time pass_start, Session* s, NodeState* st,
                  const std::shared_ptr<const ferry::v1::NodeConfig>& config, bool adopted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The status `stored` should have now, if it differs from the stored one.
  std::optional<ferry::v1::Object> StatusWrite(const FleetSnapshot::Stored& stored, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_, mu_);
  // Forwards whose NodeAckInfo on a node may read differently after
  // `change` mutates its ack state; they join status_dirty_.
  static void AckScope(const NodeState& state, std::set<std::string>* out);
  template <typename Fn>
  void ChangeAcks(NodeState* state, Fn change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The delta to push instead of `config`, if the agent can take one.
  static std::optional<ferry::v1::NodeConfigDelta> DeltaFor(const Session& session,
                                                            const NodeState& state,
                                                            const ferry::v1::NodeConfig& config);
  absl::Status ReconcileFleet();
  void UpdateNodeMetrics(const std::vector<ferry::v1::Node>& nodes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ApplyFailed events and counts for a NACK or an ACK with failed forwards.
  void RecordApplyFailure(const std::string& node, const ferry::v1::ConfigAck& ack)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordNodeEvent(const std::string& node, bool connected) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::map<std::string, NodeAckInfo> AcksFor(const ferry::v1::IPForward& forward,
                                             const ForwardResolution& resolution)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static WriteOp WriteOf(const ferry::v1::Object& desired, int64_t expected_revision);
  // Statuses computed per hold of mu_, and written per store transaction.
  static constexpr size_t kStatusBatch = 500;
  // Commits `objects` in batches, each write guarded by the revision its
  // object was read at, and records them in the snapshot. A lost race only
  // triggers a new pass; statuses that failed otherwise are retried.
  absl::Status CommitWrites(std::vector<std::pair<ferry::v1::Object, int64_t>> objects)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pass_mu_);

  Store* const store_;
  const Options options_;
  Registry own_registry_;
  FleetMetrics metrics_;
  EventRecorder events_;

  // One pass at a time; guards what passes keep between them.
  absl::Mutex pass_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  FleetSnapshot snapshot_ ABSL_GUARDED_BY(pass_mu_);
  IncrementalPlanner planner_ ABSL_GUARDED_BY(pass_mu_);
  std::set<std::string> retry_statuses_ ABSL_GUARDED_BY(pass_mu_);
  absl::Time last_full_ ABSL_GUARDED_BY(pass_mu_) = absl::InfinitePast();

  absl::Mutex mu_;
  std::map<std::string, NodeState> nodes_ ABSL_GUARDED_BY(mu_);
  std::map<SessionHandle*, std::unique_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
  uint64_t next_session_id_ ABSL_GUARDED_BY(mu_) = 1;
  DriftTracker drift_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> metric_nodes_ ABSL_GUARDED_BY(mu_);  // nodes with series
  // Forwards whose status inputs changed on a stream (ACK, NACK, drift).
  std::set<std::string> status_dirty_ ABSL_GUARDED_BY(mu_);

  absl::Mutex loop_mu_;
  bool kicked_ ABSL_GUARDED_BY(loop_mu_) = true;
  bool stopping_ ABSL_GUARDED_BY(loop_mu_) = false;
  std::thread loop_thread_;
  std::thread watch_thread_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_FLEET_RECONCILER_H_
