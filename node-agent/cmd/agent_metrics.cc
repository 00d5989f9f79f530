#include "node-agent/cmd/agent_metrics.h"

namespace ferry::agent {
namespace {

// Bounds (seconds) for an apply: a one-forward delta takes well under a
// millisecond, a 100k-element full config a few seconds.
std::vector<double> ApplyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

const char* KindName(AgentMetrics::ApplyKind kind) {
  return kind == AgentMetrics::ApplyKind::kFull ? "full" : "delta";
}

}  // namespace

absl::StatusOr<std::unique_ptr<AgentMetrics>> AgentMetrics::Create(
    observability::Registry* registry) {
  std::unique_ptr<AgentMetrics> m(new AgentMetrics());
  absl::StatusOr<observability::CounterFamily*> applies = registry->AddCounter(
      "ferry_agent_applies_total", "Pushes applied (ok) or refused (nack), by kind (full, delta)",
      {"kind", "result"});
  if (!applies.ok()) return applies.status();
  m->applies_ = *applies;
  absl::StatusOr<observability::HistogramFamily*> seconds = registry->AddHistogram(
      "ferry_agent_apply_seconds",
      "Time to apply one push: planning against the kernel and the kernel transactions", {"kind"},
      ApplyBuckets());
  if (!seconds.ok()) return seconds.status();
  m->apply_seconds_ = *seconds;
  absl::StatusOr<observability::CounterFamily*> items = registry->AddCounter(
      "ferry_agent_drift_items_total",
      "Differences between the applied config and the kernel found by drift checks, by kind",
      {"kind"});
  if (!items.ok()) return items.status();
  m->drift_items_ = *items;
  absl::StatusOr<observability::CounterFamily*> repairs = registry->AddCounter(
      "ferry_agent_drift_repairs_total", "Drifted kernel objects put back, by kind", {"kind"});
  if (!repairs.ok()) return repairs.status();
  m->drift_repairs_ = *repairs;
  absl::StatusOr<observability::GaugeFamily*> info = registry->AddGauge(
      "ferry_agent_applied_config_info",
      "1 for the config version the kernel holds (applied or adopted)", {"version"});
  if (!info.ok()) return info.status();
  m->applied_info_ = *info;
  absl::StatusOr<observability::GaugeFamily*> connected = registry->AddGauge(
      "ferry_agent_connected", "1 while the agent has a Sync stream to its controller open");
  if (!connected.ok()) return connected.status();
  m->connected_ = (*connected)->WithLabels({});
  // Every series a dashboard queries exists from the start, at zero.
  for (const char* kind : {"full", "delta"}) {
    for (const char* result : {"ok", "nack"}) m->applies_->WithLabels({kind, result});
    m->apply_seconds_->WithLabels({kind});
  }
  return m;
}

void AgentMetrics::Adopted() { has_config_ = true; }

void AgentMetrics::Applied(ApplyKind kind, const absl::Status& status, absl::Duration took,
                           const std::string& version) {
  applies_->WithLabels({KindName(kind), status.ok() ? "ok" : "nack"})->Increment();
  apply_seconds_->WithLabels({KindName(kind)})->Observe(absl::ToDoubleSeconds(took));
  if (!status.ok()) return;
  has_config_ = true;
  absl::MutexLock lock(&mu_);
  if (version == applied_version_) return;
  if (!applied_version_.empty()) applied_info_->Remove({applied_version_});
  applied_version_ = version;
  applied_info_->WithLabels({version})->Set(1);
}

void AgentMetrics::DriftChecked(const DriftOutcome& outcome) {
  for (size_t i = 0; i < outcome.items.size(); ++i) {
    const std::string& kind = outcome.items[i].kind;
    drift_items_->WithLabels({kind})->Increment();
    if (i < outcome.repaired.size() && outcome.repaired[i]) {
      drift_repairs_->WithLabels({kind})->Increment();
    }
  }
}

void AgentMetrics::SetConnected(bool connected) {
  connected_now_ = connected;
  connected_->Set(connected ? 1 : 0);
}

bool AgentMetrics::Ready() const { return has_config_ && connected_now_; }

}  // namespace ferry::agent
