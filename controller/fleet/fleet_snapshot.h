#ifndef FERRY_CONTROLLER_FLEET_FLEET_SNAPSHOT_H_
#define FERRY_CONTROLLER_FLEET_FLEET_SNAPSHOT_H_

// The store's IPForwards and Nodes, decoded (of a forward only what the
// fleet reads, a PlanForward: not its status, which ForwardStatuses holds,
// nor its labels and timestamps), kept across reconcile passes and brought
// up to date from the change log, so a pass reads and decodes only what
// changed since the last one and learns what kind of change it was. The
// reconciler's own writes are recorded as they commit, so their change-log
// entries are skipped instead of decoded again. A commit of the write path
// is taken from its CommitHandoff, decoded already, instead of being read
// back. Not thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/planner/plan_forward.h"
#include "controller/store/change_feed.h"
#include "controller/store/commit_handoff.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class FleetSnapshot {
 public:
  struct Stored {
    Stored() = default;
    Stored(ferry::v1::Object decoded, int64_t at)
        : held(std::make_shared<ferry::v1::Object>(std::move(decoded))), revision(at) {}
    Stored(std::shared_ptr<ferry::v1::Object> decoded, int64_t at)
        : held(std::move(decoded)), revision(at) {}

    const ferry::v1::Object& object() const { return *held; }

    std::shared_ptr<ferry::v1::Object> held;
    int64_t revision = 0;
  };
  struct StoredForward {
    // Shared with the planner, which keeps it instead of a copy. Never
    // changed in place: a new version replaces it, so a kept old one stays
    // as it was.
    std::shared_ptr<const PlanForward> forward;
    int64_t revision = 0;
  };
  // What one Refresh found, by forward name.
  struct Changes {
    // The view was (re)built from a full listing: treat everything as new.
    bool relisted = false;
    std::set<std::string> specs;     // created, or name/generation/spec changed
    std::set<std::string> statuses;  // only labels (or a stale stored status) changed
    std::set<std::string> removed;
  };

  // `handoff` (not owned) may be null: every change is read from the log.
  explicit FleetSnapshot(Store* store, CommitHandoff* handoff = nullptr)
      : store_(store), handoff_(handoff), feed_(store, "", kCatchUpBatch) {}

  absl::StatusOr<Changes> Refresh();

  // Records a write the caller committed at `revision`.
  void RecordWrite(ferry::v1::Object object, int64_t revision);
  // After a commit of the reconciler's own writes (each recorded) at
  // `revision`: when it is the very next revision, nobody else committed in
  // between, so the change-log read of the next Refresh can start after it.
  // (Otherwise Refresh reads it back.)
  void CommittedOwn(int64_t revision) {
    if (revision == feed_.revision() + 1) feed_.Reset(revision);
  }

  // Every change up to here is in the view.
  int64_t revision() const { return feed_.revision(); }
  const std::map<std::string, StoredForward>& forwards() const { return forwards_; }
  const std::map<std::string, Stored>& nodes() const { return nodes_; }

 private:
  // Change-log reads per round.
  static constexpr size_t kCatchUpBatch = 10000;
  // How long a catch-up waits for a commit under way to be handed off:
  // longer than any commit takes, so that a pass woken by it never reads
  // it back, and short enough that a stuck writer delays a pass only once.
  static constexpr absl::Duration kHandoffWait = absl::Seconds(5);

  absl::Status List(Changes* changes);
  // OUT_OF_RANGE when the change log no longer reaches back to where the
  // feed stands.
  absl::Status CatchUp(Changes* changes);
  // Applies the hand-off of the next revision, if there is one.
  bool TakeHandoff(Changes* changes);
  // A forward or node as written at `revision` (an event is ignored).
  void Put(std::shared_ptr<ferry::v1::Object> object, int64_t revision, Changes* changes);
  // Takes the forward's plan inputs out of `object`.
  void PutForward(ferry::v1::Object* object, int64_t revision, Changes* changes);
  void EraseForward(const std::string& name, Changes* changes);
  void Clear();

  Store* const store_;
  CommitHandoff* const handoff_;
  bool listed_ = false;
  ChangeFeed feed_;  // every kind: forwards, nodes (and events, skipped)
  std::map<std::string, StoredForward> forwards_;
  std::map<std::string, Stored> nodes_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_FLEET_SNAPSHOT_H_
