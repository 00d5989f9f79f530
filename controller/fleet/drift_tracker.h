#ifndef FERRY_CONTROLLER_FLEET_DRIFT_TRACKER_H_
#define FERRY_CONTROLLER_FLEET_DRIFT_TRACKER_H_

// What each node's agent last said about drift, and what a new report means:
// which events to record, which counters to bump and which forwards'
// Drifted condition may change. Thread-safe. Knows nothing about gRPC or
// the store.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/fleet/event_recorder.h"
#include "controller/fleet/fleet_metrics.h"
#include "controller/planner/planner.h"
#include "controller/planner/status.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class DriftTracker {
 public:
  // What a new report means.
  struct News {
    // DriftRepaired for each repaired item, and DriftDetected for each
    // unrepaired item the node's previous report did not already list (an
    // agent re-reports standing drift on reconnect; that is not news).
    std::vector<EventOccurrence> events;
    // The forwards the previous or the new report names: those whose
    // Drifted condition may change.
    std::set<std::string> forwards;
  };

  // Keeps `report` as the node's latest. Counts every new or repaired item
  // in ferry_drift_detected_total and each repaired one in
  // ferry_drift_repaired_total. `now` stands in for a missing detected_at.
  News OnReport(const std::string& node, const ferry::v1::DriftReport& report, absl::Time now,
                FleetMetrics* metrics);

  // The InSync condition of the node's latest report, for a Node at
  // `generation`; none if it sent no report since start. Built under the
  // lock, so a pass does not copy each node's whole report to read it.
  std::optional<ferry::v1::Condition> InSyncConditionFor(const std::string& node,
                                                         int64_t generation) const;
  // Whether the node's latest report said it is in sync; none without one.
  std::optional<bool> InSync(const std::string& node) const;

  // Unrepaired items naming `forward` in the latest reports of `nodes`.
  std::vector<ForwardDrift> UnrepairedFor(const std::string& forward,
                                          const std::vector<InvolvedNode>& nodes) const;

 private:
  // Adds the forwards that the node's latest report names to `out`.
  void ForwardsIn(const std::string& node, std::set<std::string>* out) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, ferry::v1::DriftReport> latest_ ABSL_GUARDED_BY(mu_);
  // node -> forward -> indexes of the latest report's items naming it, so a
  // forward's drift costs O(its items), not a scan of the report.
  std::map<std::string, std::map<std::string, std::vector<int>>> items_by_forward_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_DRIFT_TRACKER_H_
