#ifndef FERRY_CONTROLLER_PROTECTION_PROTECTION_METRICS_H_
#define FERRY_CONTROLLER_PROTECTION_PROTECTION_METRICS_H_

// Counters for what the controller refused or held back to protect itself:
// rate-limited calls, coalesced agent reports, watches cut off. Each counter
// pointer is cached, so the hot paths pay one atomic add.

#include <string>

#include "api/observability/metrics.h"

namespace ferry::controller {

class ProtectionMetrics {
 public:
  // Registers the families in `registry`, or in a private registry if null
  // (tests, or a controller started without --metrics-listen).
  explicit ProtectionMetrics(observability::Registry* registry);

  // A ResourceService call refused by its client's rate limit.
  void RateLimited(const std::string& method);
  // An agent report held back and superseded by a newer one ("addresses" or
  // "drift").
  void ReportCoalesced(const std::string& kind);
  // A watch ended because its client stopped reading.
  void WatchCutOff();

  double RateLimitedCount(const std::string& method);
  double CoalescedCount(const std::string& kind);
  double WatchCutOffCount();

 private:
  observability::Registry own_;
  observability::CounterFamily* rate_limited_ = nullptr;
  observability::CounterFamily* coalesced_ = nullptr;
  observability::Counter* watch_cut_off_ = nullptr;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PROTECTION_PROTECTION_METRICS_H_
