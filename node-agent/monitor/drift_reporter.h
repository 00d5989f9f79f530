#ifndef FERRY_NODE_AGENT_MONITOR_DRIFT_REPORTER_H_
#define FERRY_NODE_AGENT_MONITOR_DRIFT_REPORTER_H_

// Turns drift check outcomes into DriftReports, only when the agent's view
// changes: every repair is reported (each one is an event), unrepaired
// (Alert) drift when its items change, and the return to sync once. Logs
// "drift detected" / "drift repaired" lines naming each object.

#include <cstddef>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/reconcile/drift.h"

namespace ferry::agent {

class DriftReporter {
 public:
  // Reports carry at most this many items (see CapDrift).
  static constexpr size_t kMaxItems = 256;

  std::optional<ferry::v1::DriftReport> OnOutcome(const DriftOutcome& outcome,
                                                  absl::string_view trigger,
                                                  absl::Time detected_at);

 private:
  std::vector<Drift> last_unrepaired_;
  bool last_in_sync_ = true;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_MONITOR_DRIFT_REPORTER_H_
