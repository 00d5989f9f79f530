#ifndef FERRY_CONTROLLER_PROTECTION_REPORT_THROTTLE_H_
#define FERRY_CONTROLLER_PROTECTION_REPORT_THROTTLE_H_

// Holds back one agent's AddressUpdates and DriftReports beyond its node's
// rate limit. Only the latest state matters, so a held report is replaced by
// a newer one of its kind instead of queueing: an address update carries the
// whole address list, and a drift report the whole drift found by one check
// (the repaired items of a superseded report are carried over, so no
// DriftRepaired event is lost). Memory per agent is thus at most one report
// of each kind. Not thread-safe: the AgentSession calls it under its lock.

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controller/protection/rate_limiter.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class ReportThrottle {
 public:
  // `limiter` is shared by every stream, keyed by `node`, so reconnecting
  // does not refill the bucket. Null: no limit.
  ReportThrottle(RateLimiter* limiter, std::string node);

  // Holds `message` (addresses or drift), merged into any held report of its
  // kind. Returns true if it superseded one.
  bool Hold(const ferry::v1::AgentMessage& message);

  // Removes and returns the held reports the rate limit lets through now.
  std::vector<ferry::v1::AgentMessage> TakeAllowed();

  bool holding() const { return addresses_.has_value() || drift_.has_value(); }
  // After TakeAllowed: how long until the next held report may go.
  absl::Duration retry_in() const { return retry_in_; }

 private:
  RateLimiter* const limiter_;
  const std::string node_;
  std::optional<ferry::v1::AgentMessage> addresses_;
  std::optional<ferry::v1::AgentMessage> drift_;
  absl::Duration retry_in_ = absl::ZeroDuration();
};

// `newer` with the repaired items of `older` that it does not list itself.
ferry::v1::DriftReport MergeDriftReports(const ferry::v1::DriftReport& older,
                                         const ferry::v1::DriftReport& newer);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PROTECTION_REPORT_THROTTLE_H_
