#include "controller/protection/protection_metrics.h"

#include <utility>
#include <vector>

#include "api/lib/log.h"

namespace ferry::controller {

using observability::Counter;
using observability::CounterFamily;
using observability::GaugeFamily;
using observability::Registry;
namespace {

// Registration fails only for a duplicate name (two ProtectionMetrics on one
// registry); the counters then go to the private registry rather than crash.
CounterFamily* AddOrPrivate(Registry* registry, Registry* own, const std::string& name,
                            const std::string& help, std::vector<std::string> labels) {
  absl::StatusOr<CounterFamily*> family = registry->AddCounter(name, help, labels);
  if (family.ok()) return *family;
  LogWarning("metric not exported", {{"name", name}, {"error", family.status().ToString()}});
  return *own->AddCounter(name, help, std::move(labels));
}

}  // namespace

ProtectionMetrics::ProtectionMetrics(Registry* registry) {
  Registry* r = registry != nullptr ? registry : &own_;
  rate_limited_ =
      AddOrPrivate(r, &own_, "ferry_rate_limited_requests_total",
                   "ResourceService calls refused by the caller's rate limit.", {"method"});
  coalesced_ = AddOrPrivate(
      r, &own_, "ferry_agent_reports_coalesced_total",
      "Agent reports over the node's rate limit, superseded by a newer one before delivery.",
      {"kind"});
  watch_cut_off_ = AddOrPrivate(r, &own_, "ferry_watch_cut_off_total",
                                "Watches ended because the client stopped reading.", {})
                       ->WithLabels({});
}

void ProtectionMetrics::RateLimited(const std::string& method) {
  rate_limited_->WithLabels({method})->Increment();
}

void ProtectionMetrics::ReportCoalesced(const std::string& kind) {
  coalesced_->WithLabels({kind})->Increment();
}

void ProtectionMetrics::WatchCutOff() { watch_cut_off_->Increment(); }

double ProtectionMetrics::RateLimitedCount(const std::string& method) {
  return rate_limited_->WithLabels({method})->Value();
}

double ProtectionMetrics::CoalescedCount(const std::string& kind) {
  return coalesced_->WithLabels({kind})->Value();
}

double ProtectionMetrics::WatchCutOffCount() { return watch_cut_off_->Value(); }

}  // namespace ferry::controller
