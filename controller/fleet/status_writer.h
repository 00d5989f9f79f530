#ifndef FERRY_CONTROLLER_FLEET_STATUS_WRITER_H_
#define FERRY_CONTROLLER_FLEET_STATUS_WRITER_H_

// Writes what the fleet's state means: each Node object to the store (from
// what its agent says, the version it ACKed and its drift), and each
// forward's status to ForwardStatuses (from its resolution, what the
// involved nodes did with its pushes, and their drift). Only what differs
// is written. A Node write is guarded by the revision it was computed from
// and recorded in the snapshot as it commits; one that lost a race to
// another writer calls `on_lost_race` (a new pass catches up and
// recomputes). A status publication that failed is retried by the next
// pass (TakeRetries).
//
// Used by one pass at a time (under FleetReconciler's pass lock); the
// trackers it reads lock themselves.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "controller/fleet/datapath_tracker.h"
#include "controller/fleet/dirty_forwards.h"
#include "controller/fleet/drift_tracker.h"
#include "controller/fleet/fleet_snapshot.h"
#include "controller/fleet/forward_statuses.h"
#include "controller/fleet/node_presence.h"
#include "controller/fleet/push_tracker.h"
#include "controller/planner/incremental_planner.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class StatusWriter {
 public:
  struct Sources {
    FleetSnapshot* snapshot;    // what is stored; written objects are recorded
    ForwardStatuses* statuses;  // where forward statuses go
    PushTracker* pushes;        // what each node did with its pushes
    DriftTracker* drift;
    DataPathTracker* data_path;  // the frontends' probe verdicts
    // Forwards to skip: news about them arrived after the pass took them.
    DirtyForwards* dirty;
    std::function<absl::Time()> clock;  // for the pass's timings only
    std::function<void()> on_lost_race;
    // A status that would only say "Pending: the push is on its way" is not
    // written while every such push is younger than this: the ACK usually
    // comes first, and the forward then costs one write (Ready), not two.
    // A 100k push would otherwise write 100k Pending statuses while the
    // agent applies it, on the same two cores. Zero writes Pending at once.
    absl::Duration pending_grace = absl::ZeroDuration();
  };

  // What one pass wrote, for its debug log.
  struct Stats {
    size_t writes = 0;      // objects sent to the store
    size_t superseded = 0;  // statuses skipped: newer news is on its way
    absl::Duration compute;
    absl::Duration commit;
  };

  StatusWriter(Store* store, Sources sources);

  StatusWriter(const StatusWriter&) = delete;
  StatusWriter& operator=(const StatusWriter&) = delete;

  // The Node objects as they should be: every stored one, and one for each
  // agent seen since start (created if new). The agent is the source of
  // truth for its labels, addresses and versions; its stream for the
  // Connected condition, its drift report for InSync. A stored node this
  // controller never heard from is not connected to it. A Node deleted
  // through the API (stored at the last call, gone now: the fleet itself
  // never deletes one) is not written back, nor planned for, until its
  // agent says Hello again after the deletion was seen.
  std::vector<ferry::v1::Node> DesiredNodes(
      const std::map<std::string, NodePresence::Agent>& agents, absl::Time now);

  // Writes the nodes that differ from what is stored.
  absl::Status WriteNodes(std::vector<ferry::v1::Node> nodes, Stats* stats);

  // A forward and its resolution, as the planner holds them.
  struct Input {
    const PlanForward* forward;
    const ForwardResolution* resolution;
  };
  // Recomputes the statuses of `forwards` and publishes those that changed,
  // with the removals Forget queued, as one ForwardStatuses change. A
  // forward marked dirty meanwhile is skipped: the pass that news kicked
  // recomputes it.
  absl::Status WriteStatuses(const std::vector<Input>& forwards, absl::Time now, Stats* stats);
  // The forwards are gone: their statuses go with the next WriteStatuses.
  void Forget(const std::set<std::string>& names);
  // Forgets every status but those of the snapshot's forwards (after a
  // re-list, which reports no deletions).
  void ForgetAllExceptSnapshot();

  // (condition type, status) -> forwards whose published status has it.
  const std::map<std::pair<std::string, std::string>, int>& condition_counts() const {
    return condition_counts_;
  }

  // Forwards whose status write failed (other than by a lost race) since
  // the last call: the next pass recomputes them.
  std::set<std::string> TakeRetries() { return std::exchange(retries_, {}); }

  // Forwards whose Pending status was held back (pending_grace) and whose
  // grace ended by `now`: the pass recomputes them.
  std::set<std::string> TakeDue(absl::Time now);
  // When the earliest held-back status is due, if any.
  std::optional<absl::Time> NextDue() const;

 private:
  using Tally = std::map<std::pair<std::string, std::string>, int>;
  // One status computed in a pass, and what it changed in the tally.
  struct Computed {
    ForwardStatuses::Bytes status;  // null: the same as the current one
    std::vector<std::pair<std::pair<std::string, std::string>, int>> tally;
    // Forwards of the pass that took it from the memo: its tally counts
    // that many times, added once at the end of the pass (per forward, the
    // tally's map was ~600k string-pair lookups at 100k forwards).
    int uses = 0;
  };
  // A pass's statuses by everything they are computed from (key), so that
  // forwards in the same state share one computation; and each distinct
  // encoding once.
  struct PassMemo {
    absl::flat_hash_map<std::string, Computed> by_inputs;
    absl::flat_hash_map<std::string_view, ForwardStatuses::Bytes> interned;
  };

  // The encoded status `forward` should have now, if it differs from
  // `current` (its published one, or null) and is not held back (null
  // otherwise). Adds its conditions to `tally` and the replaced ones' with
  // -1.
  ForwardStatuses::Bytes StatusWrite(const Input& input, absl::Time now,
                                     const ForwardStatuses::Bytes& current, PassMemo* memo,
                                     Tally* tally);
  // The status the inputs give, unless it equals `current`, and its tally.
  static Computed Compute(ForwardRef forward, const ForwardResolution& resolution,
                          const std::map<std::string, NodeAckInfo>& acks,
                          const std::vector<ForwardDrift>& drift, absl::Time now,
                          const ForwardStatuses::Bytes& current, PassMemo* memo);

  // Commits the Node `objects`, each guarded by the revision it was read
  // at, in one transaction, and records each in the snapshot. A stale
  // precondition fails the whole transaction, whose writes are then tried
  // one by one; one that lost its race calls on_lost_race.
  absl::Status Commit(std::vector<std::pair<ferry::v1::Object, int64_t>> objects);

  Store* const store_;
  const Sources sources_;
  absl::BitGen bitgen_;  // uids of new Nodes
  std::set<std::string> retries_;
  // Held-back statuses: forward -> when its grace ends.
  absl::flat_hash_map<std::string, absl::Time> held_;
  absl::Time next_due_ = absl::InfiniteFuture();  // no later than any in held_
  std::set<std::string> forgotten_;               // removals for the next publication
  // Nodes stored when DesiredNodes last ran; and nodes deleted since, with
  // their agent's Hello count (NodePresence::Agent::connects) then.
  std::set<std::string> stored_nodes_;
  std::map<std::string, uint64_t> deleted_nodes_;
  std::map<std::pair<std::string, std::string>, int> condition_counts_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_STATUS_WRITER_H_
