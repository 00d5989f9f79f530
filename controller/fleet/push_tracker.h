#ifndef FERRY_CONTROLLER_FLEET_PUSH_TRACKER_H_
#define FERRY_CONTROLLER_FLEET_PUSH_TRACKER_H_

// What each node's agent was pushed and what it ACKed, and on which stream.
// It decides how a node's newly planned config goes out: not at all when a
// new stream's Hello says the agent already applied exactly that version
// (adopted as ACKed), as a NodeConfigDelta on top of the config the agent
// ACKed on this stream when it can take one, else in full. It matches each
// ACK or NACK to the push it answers, and tells a forward's status what
// each involved node did with it (NodeAckInfo). Forwards whose NodeAckInfo
// may read differently after a change are marked in DirtyForwards. It keeps
// no configs: the plan builds a full one for a full push and names what
// changed for a delta, and NodeGenerations keeps what statuses need.
//
// Thread-safe. Pushes and closes are made with mu_ held (sinks must not
// block); DirtyForwards is locked after mu_.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/fleet/dirty_forwards.h"
#include "controller/fleet/node_generations.h"
#include "controller/fleet/session_registry.h"
#include "controller/planner/incremental_planner.h"
#include "controller/planner/planner.h"
#include "controller/planner/status.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class PushTracker {
 public:
  // What an ACK (or NACK) meant.
  struct AckResult {
    enum class Kind {
      kIgnored,              // not for the last push of an active stream
      kBaseVersionMismatch,  // a delta the agent could not apply: resent whole
      kAccepted,
      kRejected,
    };
    Kind kind = Kind::kIgnored;
    std::string node;
    // For kAccepted: when the pass that planned the ACKed config began
    // (apply latency runs from there), if a config was pushed.
    std::optional<absl::Time> change_seen;
  };

  explicit PushTracker(DirtyForwards* dirty);
  ~PushTracker();

  PushTracker(const PushTracker&) = delete;
  PushTracker& operator=(const PushTracker&) = delete;

  // A new stream of `node`, whose agent said `hello`. The node's previous
  // stream is closed with ABORTED; if the agent applied another version
  // than the one it last ACKed, that record is dropped. The handle is
  // valid until Disconnect.
  SessionHandle* Connect(const std::string& node, const ferry::v1::Hello& hello, PushSink* sink);
  // The node `session` speaks for, while it is that node's active stream.
  std::optional<std::string> ActiveNode(SessionHandle* session);
  AckResult OnAck(SessionHandle* session, const ferry::v1::ConfigAck& ack);
  // Forgets `session`; its node if it was still the node's active stream.
  std::optional<std::string> Disconnect(SessionHandle* session);
  // Ends the node's active stream, if any, with `why`.
  void CloseNode(const std::string& node, const absl::Status& why);

  // Sends each active stream whose node's planned config is not the
  // version last sent on it that config (or adopts it; see above). Returns
  // who was pushed what: kPushFull or kPushDelta (fleet_metrics.h).
  // `pass_start` is when the pass that planned the configs began, `now`
  // when they go out. Marks what it pushed in `plan`, so the next delta
  // starts from there.
  std::vector<std::pair<std::string, const char*>> PushChanged(IncrementalPlanner* plan,
                                                               absl::Time pass_start,
                                                               absl::Time now);

  // What `forward`'s status needs from each of its involved `nodes`
  // (NodesOf) that ever connected.
  std::map<std::string, NodeAckInfo> AcksFor(ForwardRef forward,
                                             const std::vector<InvolvedNode>& nodes);
  // node -> the version of the config it last ACKed, for nodes that did.
  std::map<std::string, std::string> AckedVersions();

 private:
  struct Stream;
  // What this controller knows about one node's configs, across streams.
  struct NodePushes {
    Stream* stream = nullptr;    // the active one, if any
    std::string pushed_version;  // of the last config pushed (any stream)
    // Start of the pass that planned the last push: when the change that
    // led to it was read from the store. Apply latency runs from here to
    // the ACK.
    std::optional<absl::Time> pushed_change_seen;
    absl::Time pushed_at;       // when the last push went out (not adopted)
    std::string acked_version;  // of the last config ACKed; empty: none
    NodeGenerations generations;
    std::map<std::string, std::string> acked_forward_errors;
    bool push_nacked = false;  // the last push was NACKed
    std::string nack_error;
    std::map<std::string, std::string> nack_forward_errors;

    // The last push is what the agent holds (an ACK, or a Hello naming
    // it), with these forward errors. Adds the forwards whose ACKed
    // generation changed to `changed`.
    void AckPushed(std::map<std::string, std::string> forward_errors,
                   std::set<std::string>* changed);
  };

  // The active stream `session` is, or null.
  Stream* ActiveStream(SessionHandle* session) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds the forwards whose NodeAckInfo reads the node's NACK or forward
  // errors to `out`: those whose NodeAckInfo may change when they do.
  static void ErrorScope(const NodePushes& node, std::set<std::string>* out);
  // Runs change(&scope) on the node's ack state; `change` adds the
  // forwards whose ACKed generation it changed. Those, and the forwards the
  // node's errors name before and after, are marked dirty.
  template <typename Fn>
  void ChangeAcks(NodePushes* node, Fn change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A new stream whose Hello says the agent applied exactly the planned
  // config (a controller restart, a reconnect) has it taken as ACKed, with
  // the Hello's forward errors, instead of a push. False when it must be
  // pushed.
  bool AdoptApplied(absl::Time pass_start, Stream* s, NodePushes* node, NodePlan* plan)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The stream was sent the plan's config (or, `adopted`, already holds it:
  // then it also counts as ACKed with the Hello's forward errors): as the
  // plan's delta since its mark if `delta`, else whole.
  void MarkPushed(absl::Time pass_start, Stream* s, NodePushes* node, NodePlan* plan, bool delta,
                  bool adopted) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The delta to push instead of the full config, if the agent can take
  // one and it is the smaller message.
  static std::optional<NodePlan::Delta> DeltaFor(const Stream& stream, const NodePushes& node,
                                                 const NodePlan& plan);

  DirtyForwards* const dirty_;
  absl::Mutex mu_;
  std::map<std::string, NodePushes> nodes_ ABSL_GUARDED_BY(mu_);
  std::map<SessionHandle*, std::unique_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_PUSH_TRACKER_H_
