#include "node-agent/monitor/drift_reporter.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"

namespace ferry::agent {

std::optional<ferry::v1::DriftReport> DriftReporter::OnOutcome(const DriftOutcome& outcome,
                                                               absl::string_view trigger,
                                                               absl::Time detected_at) {
  if (!outcome.checked || !outcome.error.ok()) return std::nullopt;
  // From here on `repair` means "was repaired".
  std::vector<Drift> items = outcome.items;
  std::vector<Drift> unrepaired;
  bool any_repaired = false;
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].repair = i < outcome.repaired.size() && outcome.repaired[i];
    any_repaired = any_repaired || items[i].repair;
    if (!items[i].repair) unrepaired.push_back(items[i]);
  }
  const bool changed =
      any_repaired || unrepaired != last_unrepaired_ || outcome.in_sync != last_in_sync_;
  last_unrepaired_ = std::move(unrepaired);
  last_in_sync_ = outcome.in_sync;
  if (!changed) return std::nullopt;

  items = CapDrift(std::move(items), kMaxItems);
  ferry::v1::DriftReport report;
  report.set_in_sync(outcome.in_sync);
  report.set_config_version(outcome.config_version);
  report.set_trigger(std::string(trigger));
  const int64_t nanos = absl::ToUnixNanos(detected_at);
  report.mutable_detected_at()->set_seconds(nanos / 1000000000);
  report.mutable_detected_at()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  for (const Drift& d : items) {
    ferry::v1::DriftItem& item = *report.add_items();
    item.set_forward(d.forward);
    item.set_object(d.object);
    item.set_kind(d.kind);
    item.set_expected(d.expected);
    item.set_found(d.found);
    item.set_repaired(d.repair);
    LogInfo(d.repair ? "drift repaired" : "drift detected", {{"object", d.object},
                                                             {"forward", d.forward},
                                                             {"expected", d.expected},
                                                             {"found", d.found},
                                                             {"trigger", std::string(trigger)}});
  }
  if (items.empty()) LogInfo("drift cleared", {{"trigger", std::string(trigger)}});
  return report;
}

}  // namespace ferry::agent
