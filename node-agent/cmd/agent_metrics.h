#ifndef FERRY_NODE_AGENT_CMD_AGENT_METRICS_H_
#define FERRY_NODE_AGENT_CMD_AGENT_METRICS_H_

// What ferry-agent tells Prometheus (--metrics-listen), and whether it is
// ready:
//
//   ferry_agent_applies_total{kind="full|delta",result="ok|nack"}
//   ferry_agent_apply_seconds{kind}          histogram: one push's apply
//                                            (plan and kernel transaction)
//   ferry_agent_drift_items_total{kind}      differences found (nftables,
//   ferry_agent_drift_repairs_total{kind}    rule, route, sysctl) and repaired
//   ferry_agent_applied_config_info{version} 1 for the config the kernel holds
//   ferry_agent_connected                    1 while a Sync stream is open
//
// Ready (/readyz) once the kernel holds a config this agent applied or
// adopted and a controller stream is open: a node that cannot reach its
// controller still forwards (fail static) but is not taking changes.

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/observability/metrics.h"
#include "node-agent/reconcile/drift.h"

namespace ferry::agent {

class AgentMetrics {
 public:
  enum class ApplyKind { kFull, kDelta };

  // Registers the families on `registry`, which must outlive this.
  static absl::StatusOr<std::unique_ptr<AgentMetrics>> Create(observability::Registry* registry);

  // The kernel's state was adopted at start (Reconciler::Adopt).
  void Adopted();
  // One push applied (ok) or refused (NACK), `took` long; `version` is
  // the config the kernel holds afterwards when ok.
  void Applied(ApplyKind kind, const absl::Status& status, absl::Duration took,
               const std::string& version);
  void DriftChecked(const DriftOutcome& outcome);
  void SetConnected(bool connected);

  bool Ready() const;

 private:
  AgentMetrics() = default;

  observability::CounterFamily* applies_ = nullptr;
  observability::HistogramFamily* apply_seconds_ = nullptr;
  observability::CounterFamily* drift_items_ = nullptr;
  observability::CounterFamily* drift_repairs_ = nullptr;
  observability::GaugeFamily* applied_info_ = nullptr;
  observability::Gauge* connected_ = nullptr;

  std::atomic<bool> has_config_{false};
  std::atomic<bool> connected_now_{false};
  absl::Mutex mu_;
  std::string applied_version_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_CMD_AGENT_METRICS_H_
