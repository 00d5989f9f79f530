#include "controller/server/drift_tracker.h"

#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controller/store/object_codec.h"

namespace ferry::controller {
namespace {

using ferry::v1::DriftItem;

using ItemKey = std::tuple<std::string, std::string, std::string, std::string, std::string>;

ItemKey KeyOf(const DriftItem& item) {
  return {item.forward(), item.object(), item.kind(), item.expected(), item.found()};
}

EventOccurrence Occurrence(const std::string& node, const DriftItem& item, bool repaired,
                           absl::Time when) {
  EventOccurrence o;
  // Node-wide objects (the table, a sysctl) belong to no single forward.
  o.involved_kind = item.forward().empty() ? kKindNode : kKindIPForward;
  o.involved_name = item.forward().empty() ? node : item.forward();
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

std::vector<EventOccurrence> DriftTracker::OnReport(const std::string& node,
                                                    const ferry::v1::DriftReport& report,
                                                    absl::Time now, FleetMetrics* metrics) {
  std::set<ItemKey> standing;
  if (auto it = latest_.find(node); it != latest_.end()) {
    for (const DriftItem& item : it->second.items()) {
      if (!item.repaired()) standing.insert(KeyOf(item));
    }
  }
  absl::Time when = now;
  if (report.has_detected_at()) {
    when = absl::FromUnixSeconds(report.detected_at().seconds()) +
           absl::Nanoseconds(report.detected_at().nanos());
  }
  std::vector<EventOccurrence> out;
  for (const DriftItem& item : report.items()) {
    if (item.repaired()) {
      metrics->DriftDetected(node, item.kind());
      metrics->DriftRepaired(node, item.kind());
      out.push_back(Occurrence(node, item, true, when));
    } else if (standing.count(KeyOf(item)) == 0) {
      metrics->DriftDetected(node, item.kind());
      out.push_back(Occurrence(node, item, false, when));
    }
  }
  latest_[node] = report;
  return out;
}

const ferry::v1::DriftReport* DriftTracker::Latest(const std::string& node) const {
  auto it = latest_.find(node);
  return it == latest_.end() ? nullptr : &it->second;
}

std::vector<ForwardDrift> DriftTracker::UnrepairedFor(
    const std::string& forward, const std::vector<InvolvedNode>& nodes) const {
  std::vector<ForwardDrift> out;
  std::set<std::string> seen;  // a node involved twice (both roles) counts once
  for (const InvolvedNode& n : nodes) {
    if (!seen.insert(n.name).second) continue;
    const ferry::v1::DriftReport* report = Latest(n.name);
    if (report == nullptr) continue;
    for (const DriftItem& item : report->items()) {
      if (!item.repaired() && item.forward() == forward) out.push_back({n.name, item});
    }
  }
  return out;
}

}  // namespace ferry::controller
