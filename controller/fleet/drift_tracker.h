#ifndef FERRY_CONTROLLER_FLEET_DRIFT_TRACKER_H_
#define FERRY_CONTROLLER_FLEET_DRIFT_TRACKER_H_

// What each node's agent last said about drift, and what a new report means:
// which events to record and which counters to bump. Not thread-safe; the
// FleetReconciler calls it under its own lock. Knows nothing about gRPC or
// the store.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controller/fleet/event_recorder.h"
#include "controller/fleet/fleet_metrics.h"
#include "controller/planner/planner.h"
#include "controller/planner/status.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class DriftTracker {
 public:
  // Keeps `report` as the node's latest and returns the events it causes:
  // DriftRepaired for each repaired item, and DriftDetected for each
  // unrepaired item the node's previous report did not already list (an
  // agent re-reports standing drift on reconnect; that is not news).
  // Counts every new or repaired item in ferry_drift_detected_total and
  // each repaired one in ferry_drift_repaired_total. `now` stands in for a
  // missing detected_at.
  std::vector<EventOccurrence> OnReport(const std::string& node,
                                        const ferry::v1::DriftReport& report, absl::Time now,
                                        FleetMetrics* metrics);

  // The node's latest report, or null if it sent none since start.
  const ferry::v1::DriftReport* Latest(const std::string& node) const;

  // Unrepaired items naming `forward` in the latest reports of `nodes`.
  std::vector<ForwardDrift> UnrepairedFor(const std::string& forward,
                                          const std::vector<InvolvedNode>& nodes) const;

  // Adds the forwards that the node's latest report names to `out`: those
  // whose Drifted condition a new report may change.
  void ForwardsIn(const std::string& node, std::set<std::string>* out) const;

  void Forget(const std::string& node) {
    latest_.erase(node);
    items_by_forward_.erase(node);
  }

 private:
  std::map<std::string, ferry::v1::DriftReport> latest_;
  // node -> forward -> indexes of the latest report's items naming it, so a
  // forward's drift costs O(its items), not a scan of the report.
  std::map<std::string, std::map<std::string, std::vector<int>>> items_by_forward_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_DRIFT_TRACKER_H_
