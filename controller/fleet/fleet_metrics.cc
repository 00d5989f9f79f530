#include "controller/fleet/fleet_metrics.h"

#include <vector>

#include "api/lib/log.h"

namespace ferry::controller {

using observability::Counter;
using observability::CounterFamily;
using observability::GaugeFamily;
using observability::HistogramFamily;
using observability::Registry;
using observability::WebhookNotifier;
using observability::WebhookStats;
namespace {

// A registration can only fail on a programming error (a duplicate name);
// the metric then still works, it is just not exported.
template <typename F>
F* OrFallback(absl::StatusOr<F*> primary, absl::StatusOr<F*> fallback) {
  if (primary.ok()) return *primary;
  LogError("metric not registered", {{"error", primary.status().ToString()}});
  return *fallback;
}

}  // namespace

FleetMetrics::FleetMetrics(Registry* registry) {
  auto gauge = [&](const std::string& name, const std::string& help,
                   const std::vector<std::string>& labels) {
    return OrFallback(registry->AddGauge(name, help, labels),
                      fallback_.AddGauge(name, help, labels));
  };
  auto counter = [&](const std::string& name, const std::string& help,
                     const std::vector<std::string>& labels) {
    return OrFallback(registry->AddCounter(name, help, labels),
                      fallback_.AddCounter(name, help, labels));
  };
  connected_ =
      gauge("ferry_node_connected", "1 while the node's agent has a Sync stream open", {"node"});
  in_sync_ =
      gauge("ferry_node_in_sync",
            "1 if the node's last drift report said its kernel matches its config", {"node"});
  detected_ = counter("ferry_drift_detected_total",
                      "Drift items agents reported, by node and kind (nftables, rule, route, "
                      "sysctl)",
                      {"node", "kind"});
  repaired_ = counter("ferry_drift_repaired_total",
                      "Drift items agents repaired (driftPolicy Enforce), by node and kind",
                      {"node", "kind"});
  apply_failures_ =
      counter("ferry_apply_failures_total",
              "Config pushes a node rejected or applied with failed forwards", {"node"});
  const std::string latency_help =
      "Seconds from the reconcile pass that observed a change and pushed a "
      "node's new config "
      "to that node's ACK of it";
  latency_family_ =
      OrFallback(registry->AddHistogram("ferry_apply_latency_seconds", latency_help, {}),
                 fallback_.AddHistogram("ferry_apply_latency_seconds", latency_help, {}));
  latency_ = latency_family_->WithLabels({});
  pushes_ = counter("ferry_config_pushes_total",
                    "Config pushes to a node's agent, by kind: full (the whole config) or delta "
                    "(only the forwards that changed)",
                    {"node", "kind"});
  data_path_ = gauge("ferry_datapath_verified",
                     "1 if the forward's data-path probe on the frontend node passed, 0 if it "
                     "failed; absent while unknown (no verdict yet, or UDP without a reply)",
                     {"forward", "node"});
  forwards_ =
      gauge("ferry_forwards", "IPForwards by condition type and status", {"condition", "status"});
}

void FleetMetrics::SetConnected(const std::string& node, bool connected) {
  connected_->WithLabels({node})->Set(connected ? 1 : 0);
}

void FleetMetrics::SetInSync(const std::string& node, bool in_sync) {
  in_sync_->WithLabels({node})->Set(in_sync ? 1 : 0);
}

void FleetMetrics::SetNodes(const std::map<std::string, NodeGauges>& nodes) {
  for (const auto& [node, gauges] : nodes) {
    SetConnected(node, gauges.connected);
    if (gauges.in_sync.has_value()) SetInSync(node, *gauges.in_sync);
  }
  std::set<std::string> gone;
  {
    absl::MutexLock l(&mu_);
    for (const std::string& node : node_series_) {
      if (nodes.count(node) == 0) gone.insert(node);
    }
    node_series_.clear();
    for (const auto& [node, gauges] : nodes) node_series_.insert(node);
  }
  for (const std::string& node : gone) ForgetNode(node);
}

void FleetMetrics::ForgetNode(const std::string& node) {
  connected_->Remove({node});
  in_sync_->Remove({node});
  apply_failures_->Remove({node});
  pushes_->Remove({node, kPushFull});
  pushes_->Remove({node, kPushDelta});
  absl::MutexLock l(&mu_);
  for (const std::string& kind : drift_kinds_[node]) {
    detected_->Remove({node, kind});
    repaired_->Remove({node, kind});
  }
  drift_kinds_.erase(node);
}

void FleetMetrics::SetDataPath(const std::string& forward, const std::string& node,
                               std::optional<bool> verified) {
  if (verified.has_value()) {
    data_path_->WithLabels({forward, node})->Set(*verified ? 1 : 0);
  } else {
    data_path_->Remove({forward, node});
  }
}

void FleetMetrics::DriftDetected(const std::string& node, const std::string& kind) {
  detected_->WithLabels({node, kind})->Increment();
  absl::MutexLock l(&mu_);
  drift_kinds_[node].insert(kind);
}

void FleetMetrics::DriftRepaired(const std::string& node, const std::string& kind) {
  repaired_->WithLabels({node, kind})->Increment();
  absl::MutexLock l(&mu_);
  drift_kinds_[node].insert(kind);
}

void FleetMetrics::ApplyFailed(const std::string& node) {
  apply_failures_->WithLabels({node})->Increment();
}

void FleetMetrics::ApplyLatency(absl::Duration latency) {
  latency_->Observe(absl::ToDoubleSeconds(latency));
}

void FleetMetrics::ConfigPushed(const std::string& node, const std::string& kind) {
  pushes_->WithLabels({node, kind})->Increment();
}

void FleetMetrics::SetForwards(const std::map<std::pair<std::string, std::string>, int>& counts) {
  absl::MutexLock l(&mu_);
  for (const auto& [key, n] : counts) forward_series_.insert(key);
  for (const auto& key : forward_series_) {
    auto it = counts.find(key);
    forwards_->WithLabels({key.first, key.second})->Set(it == counts.end() ? 0 : it->second);
  }
}

void RegisterWebhookMetrics(Registry* registry, const WebhookNotifier* notifier) {
  struct Mirror {
    CounterFamily* family;
    uint64_t WebhookStats::*field;
  };
  std::vector<Mirror> mirrors;
  auto add = [&](const std::string& name, const std::string& help, uint64_t WebhookStats::*f) {
    absl::StatusOr<CounterFamily*> family = registry->AddCounter(name, help);
    if (!family.ok()) {
      LogError("metric not registered", {{"error", family.status().ToString()}});
      return;
    }
    mirrors.push_back({*family, f});
  };
  add("ferry_webhook_delivered_total", "Alert webhook posts answered with 2xx",
      &WebhookStats::delivered);
  add("ferry_webhook_failed_total",
      "Alert webhook posts given up on after retries or a permanent 4xx", &WebhookStats::failed);
  add("ferry_webhook_dropped_total", "Alert webhook posts dropped from a full queue",
      &WebhookStats::dropped);
  add("ferry_webhook_abandoned_total", "Alert webhook posts still queued at shutdown",
      &WebhookStats::abandoned);
  registry->AddCollectHook([notifier, mirrors] {
    WebhookStats stats = notifier->Stats();
    for (const Mirror& m : mirrors) {
      Counter* c = m.family->WithLabels({});
      c->Increment(static_cast<double>(stats.*(m.field)) - c->Value());
    }
  });
}

}  // namespace ferry::controller
