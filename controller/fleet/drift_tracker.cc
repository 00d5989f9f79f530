#include "controller/fleet/drift_tracker.h"

#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/lib/objects.h"
#include "api/lib/timestamps.h"

namespace ferry::controller {
namespace {

using ferry::v1::DriftItem;

using ItemKey = std::tuple<std::string, std::string, std::string, std::string, std::string>;

ItemKey KeyOf(const DriftItem& item) {
  return {item.forward(), item.object(), item.kind(), item.expected(), item.found()};
}

// The forwards an item belongs to: an object several forwards share (a
// return route) arrives as "a,b"; node-wide objects (the table, a sysctl)
// belong to none.
std::vector<std::string> ForwardsOf(const DriftItem& item) {
  return absl::StrSplit(item.forward(), ',', absl::SkipEmpty());
}

EventOccurrence Occurrence(const std::string& node, const std::string& forward,
                           const DriftItem& item, bool repaired, absl::Time when) {
  EventOccurrence o;
  o.involved_kind = forward.empty() ? api::kKindNode : api::kKindIPForward;
  o.involved_name = forward.empty() ? node : forward;
  o.reason = repaired ? kEventDriftRepaired : kEventDriftDetected;
  o.type = repaired ? kEventTypeNormal : kEventTypeWarning;
  o.node = node;
  o.object = item.object();
  o.message = repaired ? absl::StrCat("node ", node, " repaired ", DescribeDrift(item))
                       : absl::StrCat("node ", node, " drifted: ", DescribeDrift(item));
  o.time = when;
  return o;
}

}  // namespace

DriftTracker::News DriftTracker::OnReport(const std::string& node,
                                          const ferry::v1::DriftReport& report, absl::Time now,
                                          FleetMetrics* metrics) {
  News news;
  absl::MutexLock l(&mu_);
  ForwardsIn(node, &news.forwards);
  std::set<ItemKey> standing;
  if (auto it = latest_.find(node); it != latest_.end()) {
    for (const DriftItem& item : it->second.items()) {
      if (!item.repaired()) standing.insert(KeyOf(item));
    }
  }
  absl::Time when = now;
  if (report.has_detected_at()) {
    when = api::FromTimestamp(report.detected_at());
  }
  auto record = [&](const DriftItem& item, bool repaired) {
    std::vector<std::string> forwards = ForwardsOf(item);
    if (forwards.empty()) forwards.emplace_back();  // the Node's event
    for (const std::string& f : forwards) {
      news.events.push_back(Occurrence(node, f, item, repaired, when));
    }
  };
  for (const DriftItem& item : report.items()) {
    if (item.repaired()) {
      metrics->DriftDetected(node, item.kind());
      metrics->DriftRepaired(node, item.kind());
      record(item, true);
    } else if (standing.count(KeyOf(item)) == 0) {
      metrics->DriftDetected(node, item.kind());
      record(item, false);
    }
  }
  latest_[node] = report;
  std::map<std::string, std::vector<int>>& index = items_by_forward_[node];
  index.clear();
  for (int i = 0; i < report.items_size(); ++i) {
    for (const std::string& f : ForwardsOf(report.items(i))) index[f].push_back(i);
  }
  ForwardsIn(node, &news.forwards);
  return news;
}

void DriftTracker::ForwardsIn(const std::string& node, std::set<std::string>* out) const {
  auto it = items_by_forward_.find(node);
  if (it == items_by_forward_.end()) return;
  for (const auto& [forward, items] : it->second) out->insert(forward);
}

std::optional<ferry::v1::Condition> DriftTracker::InSyncConditionFor(const std::string& node,
                                                                     int64_t generation) const {
  absl::MutexLock l(&mu_);
  auto it = latest_.find(node);
  if (it == latest_.end()) return std::nullopt;
  return InSyncCondition(it->second, generation);
}

std::optional<bool> DriftTracker::InSync(const std::string& node) const {
  absl::MutexLock l(&mu_);
  auto it = latest_.find(node);
  if (it == latest_.end()) return std::nullopt;
  return it->second.in_sync();
}

std::vector<ForwardDrift> DriftTracker::UnrepairedFor(
    const std::string& forward, const std::vector<InvolvedNode>& nodes) const {
  std::vector<ForwardDrift> out;
  std::set<std::string> seen;  // a node involved twice (both roles) counts once
  absl::MutexLock l(&mu_);
  for (const InvolvedNode& n : nodes) {
    if (!seen.insert(n.name).second) continue;
    auto latest = latest_.find(n.name);
    if (latest == latest_.end()) continue;
    const ferry::v1::DriftReport& report = latest->second;
    const auto& index = items_by_forward_.at(n.name);
    auto named = index.find(forward);
    if (named == index.end()) continue;
    for (int i : named->second) {
      const DriftItem& item = report.items(i);
      if (!item.repaired()) out.push_back({n.name, item});
    }
  }
  return out;
}

}  // namespace ferry::controller
