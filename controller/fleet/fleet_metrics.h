#ifndef FERRY_CONTROLLER_FLEET_FLEET_METRICS_H_
#define FERRY_CONTROLLER_FLEET_FLEET_METRICS_H_

// The fleet's Prometheus series, registered on a Registry:
//   ferry_node_connected{node}              gauge, 1 while an agent stream is up
//   ferry_node_in_sync{node}                gauge, from the node's last drift report
//   ferry_drift_detected_total{node,kind}   counter, drift items reported
//   ferry_drift_repaired_total{node,kind}   counter, items the agent repaired
//   ferry_apply_failures_total{node}        counter, NACKs and per-forward failures
//   ferry_apply_latency_seconds             histogram, change observed -> ACK
//   ferry_forwards{condition,status}        gauge, forwards by condition
//   ferry_config_pushes_total{node,kind}    counter, pushes by kind (full, delta)
//   ferry_datapath_verified{forward,node}   gauge, a frontend's probe: 1 passed,
//                                           0 failed, absent while unknown
// kind is the DriftItem kind: nftables, rule, route or sysctl.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/observability/metrics.h"
#include "api/observability/webhook.h"

namespace ferry::controller {

inline constexpr char kPushFull[] = "full";
inline constexpr char kPushDelta[] = "delta";

class FleetMetrics {
 public:
  // Registers the families on `registry` (which must outlive this). A
  // failed registration (a duplicate name) is logged and that family is
  // kept in a private registry, so callers never see a null.
  explicit FleetMetrics(observability::Registry* registry);

  // A node's gauges as a pass sees them.
  struct NodeGauges {
    bool connected = false;
    std::optional<bool> in_sync;  // none: no drift report yet, left as is
  };

  void SetConnected(const std::string& node, bool connected);
  // Sets the gauges of every node in `nodes`, then drops every series of a
  // node set here before that is gone from `nodes`.
  void SetNodes(const std::map<std::string, NodeGauges>& nodes);
  void DriftDetected(const std::string& node, const std::string& kind);
  void DriftRepaired(const std::string& node, const std::string& kind);
  void ApplyFailed(const std::string& node);
  void ApplyLatency(absl::Duration latency);
  // One config push to `node`; `kind` is kPushFull or kPushDelta.
  void ConfigPushed(const std::string& node, const std::string& kind);
  // (condition type, status) -> number of forwards. Pairs missing from
  // `counts` that were reported before are set to 0.
  void SetForwards(const std::map<std::pair<std::string, std::string>, int>& counts);
  // The forward's probe on `node`: passed, failed, or none (the series goes).
  void SetDataPath(const std::string& forward, const std::string& node,
                   std::optional<bool> verified);

 private:
  void SetInSync(const std::string& node, bool in_sync);
  // Drops every series of a node that no longer exists.
  void ForgetNode(const std::string& node);

  observability::Registry fallback_;
  observability::GaugeFamily* connected_;
  observability::GaugeFamily* in_sync_;
  observability::CounterFamily* detected_;
  observability::CounterFamily* repaired_;
  observability::CounterFamily* apply_failures_;
  observability::HistogramFamily* latency_family_;
  observability::Histogram* latency_;
  observability::GaugeFamily* forwards_;
  observability::CounterFamily* pushes_;
  observability::GaugeFamily* data_path_;

  absl::Mutex mu_;
  std::set<std::pair<std::string, std::string>> forward_series_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> drift_kinds_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> node_series_ ABSL_GUARDED_BY(mu_);  // nodes SetNodes set
};

// Mirrors the notifier's delivery counts as ferry_webhook_{delivered,failed,
// dropped,abandoned}_total, refreshed on every scrape. `notifier` must
// outlive `registry`'s renders.
void RegisterWebhookMetrics(observability::Registry* registry,
                            const observability::WebhookNotifier* notifier);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_FLEET_METRICS_H_
