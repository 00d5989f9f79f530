#ifndef FERRY_CONTROLLER_FLEET_FLEET_SNAPSHOT_H_
#define FERRY_CONTROLLER_FLEET_FLEET_SNAPSHOT_H_

// The store's IPForwards and Nodes, decoded, kept across reconcile passes
// and brought up to date from the change log, so a pass reads and decodes
// only what changed since the last one and learns what kind of change it
// was. The reconciler's own writes are recorded as they commit, so their
// change-log entries are skipped instead of decoded again. Also counts the
// stored forwards' conditions for the fleet's gauges. Not thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "controller/store/change_feed.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class FleetSnapshot {
 public:
  struct Stored {
    Stored() = default;
    Stored(ferry::v1::Object decoded, int64_t at)
        : held(std::make_shared<ferry::v1::Object>(std::move(decoded))), revision(at) {}

    const ferry::v1::Object& object() const { return *held; }
    // The forward itself, for the planner to keep instead of a copy of it
    // (100k copies were a third of a pass's read). Only its status changes
    // in place (RecordStatus), which planning never reads; a new version
    // replaces `held`, so a kept old one stays as it was.
    std::shared_ptr<const ferry::v1::IPForward> forward() const {
      return {held, &held->ip_forward()};
    }

    std::shared_ptr<ferry::v1::Object> held;
    int64_t revision = 0;
  };
  // What one Refresh found, by forward name.
  struct Changes {
    // The view was (re)built from a full listing: treat everything as new.
    bool relisted = false;
    std::set<std::string> specs;     // created, or name/generation/spec changed
    std::set<std::string> statuses;  // only status or labels changed
    std::set<std::string> removed;
  };

  explicit FleetSnapshot(Store* store) : store_(store), feed_(store, "", kCatchUpBatch) {}

  absl::StatusOr<Changes> Refresh();

  // Records a write the caller committed at `revision`.
  void RecordWrite(ferry::v1::Object object, int64_t revision);
  // The stored forward `name` encoded for the store with `status` in place
  // of its own. The status is swapped in and back out, so 100k status
  // writes copy no metadata or spec. `status` is unchanged on return.
  std::string EncodeWithStatus(const std::string& name, ferry::v1::IPForwardStatus* status);
  // Records that forward `name`'s status was committed as `status` at
  // `revision`; the rest of the stored forward is unchanged by such a write.
  void RecordStatus(const std::string& name, ferry::v1::IPForwardStatus status, int64_t revision);
  // After a commit of the reconciler's own writes (each recorded) at
  // `revision`: when it is the very next revision, nobody else committed in
  // between, so the change-log read of the next Refresh can start after it.
  // (Otherwise Refresh reads it back: 100k status writes are 40 MB of rows.)
  void CommittedOwn(int64_t revision) {
    if (revision == feed_.revision() + 1) feed_.Reset(revision);
  }

  const std::map<std::string, Stored>& forwards() const { return forwards_; }
  const std::map<std::string, Stored>& nodes() const { return nodes_; }
  // (condition type, status) -> forwards whose stored status has it.
  const std::map<std::pair<std::string, std::string>, int>& condition_counts() const {
    return condition_counts_;
  }

 private:
  // Change-log reads per round.
  static constexpr size_t kCatchUpBatch = 10000;

  absl::Status List(Changes* changes);
  // OUT_OF_RANGE when the change log no longer reaches back to where the
  // feed stands.
  absl::Status CatchUp(Changes* changes);
  void PutForward(const std::string& name, Stored stored, Changes* changes);
  void EraseForward(const std::string& name, Changes* changes);
  void Count(const ferry::v1::IPForward& forward, int delta);
  void Clear();

  Store* const store_;
  bool listed_ = false;
  ChangeFeed feed_;  // every kind: forwards, nodes (and events, skipped)
  std::map<std::string, Stored> forwards_;
  std::map<std::string, Stored> nodes_;
  std::map<std::pair<std::string, std::string>, int> condition_counts_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_FLEET_SNAPSHOT_H_
