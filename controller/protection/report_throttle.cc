#include "controller/protection/report_throttle.h"

#include <set>
#include <tuple>
#include <utility>

namespace ferry::controller {
namespace {

using ItemKey = std::tuple<std::string, std::string, std::string>;

ItemKey KeyOf(const ferry::v1::DriftItem& item) {
  return {item.forward(), item.kind(), item.object()};
}

}  // namespace

ferry::v1::DriftReport MergeDriftReports(const ferry::v1::DriftReport& older,
                                         const ferry::v1::DriftReport& newer) {
  ferry::v1::DriftReport merged = newer;
  std::set<ItemKey> listed;
  for (const ferry::v1::DriftItem& item : newer.items()) listed.insert(KeyOf(item));
  for (const ferry::v1::DriftItem& item : older.items()) {
    // Unrepaired drift the newer check no longer finds is gone; a repair
    // already happened and must still be reported.
    if (item.repaired() && listed.insert(KeyOf(item)).second) *merged.add_items() = item;
  }
  return merged;
}

ReportThrottle::ReportThrottle(RateLimiter* limiter, std::string node)
    : limiter_(limiter), node_(std::move(node)) {}

bool ReportThrottle::Hold(const ferry::v1::AgentMessage& message) {
  if (message.has_addresses()) {
    const bool superseded = addresses_.has_value();
    addresses_ = message;
    return superseded;
  }
  if (!message.has_drift()) return false;
  if (!drift_.has_value()) {
    drift_ = message;
    return false;
  }
  ferry::v1::AgentMessage merged;
  *merged.mutable_drift() = MergeDriftReports(drift_->drift(), message.drift());
  drift_ = std::move(merged);
  return true;
}

std::vector<ferry::v1::AgentMessage> ReportThrottle::TakeAllowed() {
  std::vector<ferry::v1::AgentMessage> out;
  retry_in_ = absl::ZeroDuration();
  for (std::optional<ferry::v1::AgentMessage>* held : {&addresses_, &drift_}) {
    if (!held->has_value()) continue;
    const absl::Duration wait =
        limiter_ == nullptr ? absl::ZeroDuration() : limiter_->TryAcquire(node_);
    if (wait > absl::ZeroDuration()) {
      retry_in_ = wait;
      break;
    }
    out.push_back(std::move(**held));
    held->reset();
  }
  return out;
}

}  // namespace ferry::controller
