#include "controller/fleet/datapath_tracker.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "api/lib/conditions.h"
#include "api/lib/objects.h"
#include "api/lib/timestamps.h"

namespace ferry::controller {
namespace {

using Status = DataPathVerdict::Status;

std::optional<Status> ParseStatus(const std::string& text) {
  if (text == "True") return Status::kTrue;
  if (text == "False") return Status::kFalse;
  if (text == "Unknown") return Status::kUnknown;
  return std::nullopt;
}

std::optional<bool> GaugeValue(const std::optional<DataPathVerdict>& verdict) {
  if (!verdict.has_value() || verdict->status == Status::kUnknown) return std::nullopt;
  return verdict->status == Status::kTrue;
}

EventOccurrence Occurrence(const std::string& node, const std::string& forward,
                           const DataPathVerdict& verdict, absl::Time when) {
  const bool failed = verdict.status == Status::kFalse;
  EventOccurrence o;
  o.involved_kind = api::kKindIPForward;
  o.involved_name = forward;
  o.reason = failed ? kEventDataPathFailed : kEventDataPathRestored;
  o.type = failed ? kEventTypeWarning : kEventTypeNormal;
  o.node = node;
  o.message = failed ? absl::StrCat("node ", node, ": ", verdict.message)
                     : absl::StrCat("node ", node, ": the probe of generation ", verdict.generation,
                                    " passed again");
  o.time = when;
  return o;
}

}  // namespace

uint32_t DataPathTracker::NodeIndex(const std::string& node) {
  auto [it, added] = node_index_.try_emplace(node, node_names_.size());
  if (added) node_names_.push_back(node);
  return it->second;
}

void DataPathTracker::Put(const std::string& forward, const std::string& node, uint32_t index,
                          std::optional<DataPathVerdict> verdict, FleetMetrics* metrics,
                          News* news) {
  auto it = by_forward_.find(forward);
  Entry* entry = nullptr;
  if (it != by_forward_.end()) {
    for (Entry& e : it->second) {
      if (e.node == index) entry = &e;
    }
  }
  std::optional<Status> before;
  if (entry != nullptr) before = entry->verdict.status;
  if (!verdict.has_value()) {
    if (entry == nullptr) return;
    Entries& entries = it->second;
    entries.erase(entries.begin() + (entry - entries.data()));
    if (entries.empty()) by_forward_.erase(it);
    metrics->SetDataPath(forward, node, std::nullopt);
    news->forwards.insert(forward);
    return;
  }
  if (entry != nullptr && entry->verdict.status == verdict->status &&
      entry->verdict.generation == verdict->generation &&
      entry->verdict.reason == verdict->reason && entry->verdict.message == verdict->message) {
    entry->verdict.checked_at = verdict->checked_at;
    return;
  }
  const Status after = verdict->status;
  if (entry == nullptr) {
    by_forward_[forward].push_back(Entry{index, *verdict});
  } else {
    entry->verdict = *verdict;
  }
  metrics->SetDataPath(forward, node, GaugeValue(verdict));
  news->forwards.insert(forward);
  if (after == Status::kFalse) news->failed.insert(forward);
  const bool failed_now = after == Status::kFalse && before != Status::kFalse;
  const bool restored = after == Status::kTrue && before == Status::kFalse;
  if (failed_now || restored) {
    news->events.push_back(Occurrence(node, forward, *verdict, verdict->checked_at));
  }
}

DataPathTracker::News DataPathTracker::OnReport(const std::string& node,
                                                const ferry::v1::DataPathReport& report,
                                                absl::Time now, FleetMetrics* metrics) {
  News news;
  absl::MutexLock l(&mu_);
  const uint32_t index = NodeIndex(node);
  // Parts of one full report, and change reports between them, all count
  // as reported; what none named is dropped after the last part.
  absl::flat_hash_set<std::string>* reported = nullptr;
  if (report.full()) {
    reported = &full_in_progress_[index];
  } else if (auto it = full_in_progress_.find(index); it != full_in_progress_.end()) {
    reported = &it->second;
  }
  for (const ferry::v1::DataPathVerdict& v : report.verdicts()) {
    std::optional<Status> status = ParseStatus(v.status());
    if (v.forward().empty() || !status.has_value()) continue;
    DataPathVerdict verdict;
    verdict.status = *status;
    verdict.generation = v.generation();
    verdict.reason = v.reason();
    if (*status != Status::kTrue) verdict.message = v.message();
    verdict.checked_at = v.has_checked_at() ? api::FromTimestamp(v.checked_at()) : now;
    if (reported != nullptr) reported->insert(v.forward());
    Put(v.forward(), node, index, std::move(verdict), metrics, &news);
  }
  if (report.full() && !report.more()) {
    // A full report's absent forwards have no verdict on this node now.
    std::vector<std::string> gone;
    for (const auto& [forward, entries] : by_forward_) {
      if (reported->contains(forward)) continue;
      for (const Entry& e : entries) {
        if (e.node == index) gone.push_back(forward);
      }
    }
    for (const std::string& forward : gone) {
      Put(forward, node, index, std::nullopt, metrics, &news);
    }
    full_in_progress_.erase(index);
  }
  return news;
}

std::optional<DataPathVerdict> DataPathTracker::VerdictOf(const std::string& forward,
                                                          const std::string& node) const {
  absl::MutexLock l(&mu_);
  auto n = node_index_.find(node);
  auto f = by_forward_.find(forward);
  if (n == node_index_.end() || f == by_forward_.end()) return std::nullopt;
  for (const Entry& e : f->second) {
    if (e.node == n->second) return e.verdict;
  }
  return std::nullopt;
}

void DataPathTracker::AddVerdictsTo(const std::string& forward,
                                    const std::vector<InvolvedNode>& nodes,
                                    std::map<std::string, NodeAckInfo>* acks) const {
  absl::MutexLock l(&mu_);
  auto f = by_forward_.find(forward);
  if (f == by_forward_.end()) return;
  for (const InvolvedNode& node : nodes) {
    if (node.role != kRoleFrontend) continue;
    auto n = node_index_.find(node.name);
    if (n == node_index_.end()) continue;
    for (const Entry& e : f->second) {
      if (e.node == n->second) (*acks)[node.name].data_path = e.verdict;
    }
  }
}

void DataPathTracker::Forget(const std::string& forward, FleetMetrics* metrics) {
  absl::MutexLock l(&mu_);
  auto it = by_forward_.find(forward);
  if (it == by_forward_.end()) return;
  for (const Entry& e : it->second)
    metrics->SetDataPath(forward, node_names_[e.node], std::nullopt);
  by_forward_.erase(it);
}

}  // namespace ferry::controller
