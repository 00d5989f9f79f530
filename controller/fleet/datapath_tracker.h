#ifndef FERRY_CONTROLLER_FLEET_DATAPATH_TRACKER_H_
#define FERRY_CONTROLLER_FLEET_DATAPATH_TRACKER_H_

// What each frontend's agent last said about its forwards' data path
// (DataPathReport), and what a new report means: DataPathFailed and
// DataPathRestored events, the ferry_datapath_verified gauge, and the
// forwards whose DataPathVerified condition may change. Thread-safe. Knows
// nothing about gRPC or the store.
//
// Sized for 100k forwards: a verdict keeps its node as an index into the
// node names, and its message only when it did not pass.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/fleet/event_recorder.h"
#include "controller/fleet/fleet_metrics.h"
#include "controller/planner/data_path.h"
#include "controller/planner/planner.h"
#include "controller/planner/status.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class DataPathTracker {
 public:
  struct News {
    std::vector<EventOccurrence> events;
    // The forwards whose verdict on the node changed (or went).
    std::set<std::string> forwards;
    // Of those, the ones whose verdict is now False: for commit-confirmed
    // rollbacks, which act at once.
    std::set<std::string> failed;
  };

  // Takes the node's report: a full one (all its parts, the last without
  // `more`) replaces all its verdicts. Events
  // on a change to False (DataPathFailed, Warning) and from False to True
  // (DataPathRestored, Normal); the gauge follows every change. A malformed
  // verdict (no forward, or a status other than True/False/Unknown) is
  // skipped.
  News OnReport(const std::string& node, const ferry::v1::DataPathReport& report, absl::Time now,
                FleetMetrics* metrics);

  // The node's verdict on the forward, if it gave one.
  std::optional<DataPathVerdict> VerdictOf(const std::string& forward,
                                           const std::string& node) const;

  // Sets each frontend's verdict on the forward, where it gave one, as the
  // data_path of its entry in `acks` (what status and rollbacks read).
  void AddVerdictsTo(const std::string& forward, const std::vector<InvolvedNode>& nodes,
                     std::map<std::string, NodeAckInfo>* acks) const;

  // Drops every verdict on the forward (it was deleted), and its series.
  void Forget(const std::string& forward, FleetMetrics* metrics);

 private:
  struct Entry {
    uint32_t node = 0;  // index into node_names_
    DataPathVerdict verdict;
  };
  using Entries = absl::InlinedVector<Entry, 1>;

  uint32_t NodeIndex(const std::string& node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sets (or, with none, erases) the node's verdict on the forward, and
  // says what changed.
  void Put(const std::string& forward, const std::string& node, uint32_t index,
           std::optional<DataPathVerdict> verdict, FleetMetrics* metrics, News* news)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entries> by_forward_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> node_names_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint32_t> node_index_ ABSL_GUARDED_BY(mu_);
  // node index -> the forwards its full report in progress named so far.
  absl::flat_hash_map<uint32_t, absl::flat_hash_set<std::string>> full_in_progress_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_DATAPATH_TRACKER_H_
