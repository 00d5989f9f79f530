#include "node-agent/probe/verdicts.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/timestamps.h"

namespace ferry::agent {

Verdict Combine(int64_t generation, const std::vector<const ProbeResult*>& results,
                absl::Time checked_at) {
  Verdict v;
  v.generation = generation;
  v.checked_at = checked_at;
  const ProbeResult* first_false = nullptr;
  const ProbeResult* first_unknown = nullptr;
  for (const ProbeResult* r : results) {
    if (r->status == ProbeStatus::kFalse && first_false == nullptr) first_false = r;
    if (r->status == ProbeStatus::kUnknown && first_unknown == nullptr) first_unknown = r;
  }
  if (first_false != nullptr) {
    v.result = *first_false;
  } else if (first_unknown != nullptr) {
    v.result = *first_unknown;
  } else if (!results.empty()) {
    v.result = *results.front();
    if (results.size() > 1) {
      absl::StrAppend(&v.result.message, ", and ", results.size() - 1, " more port",
                      results.size() > 2 ? "s" : "");
    }
  } else {
    v.result = ProbeResult{ProbeStatus::kUnknown, "no rule probed"};
  }
  return v;
}

ferry::v1::DataPathVerdict ToProto(const std::string& forward, const Verdict& verdict) {
  ferry::v1::DataPathVerdict out;
  out.set_forward(forward);
  out.set_generation(verdict.generation);
  out.set_status(StatusName(verdict.result.status));
  out.set_reason(ReasonOf(verdict.result.status));
  out.set_message(verdict.result.message);
  api::SetTimestamp(verdict.checked_at, out.mutable_checked_at());
  return out;
}

void VerdictBook::Set(const std::string& forward, Verdict verdict) {
  Entry& entry = entries_[forward];
  const bool same = entry.reported.has_value() && entry.reported->status == verdict.result.status &&
                    entry.reported->generation == verdict.generation;
  entry.current = std::move(verdict);
  if (same) {
    changed_.erase(forward);
  } else {
    changed_.insert(forward);
  }
}

void VerdictBook::Remove(const std::string& forward) {
  entries_.erase(forward);
  changed_.erase(forward);
}

ferry::v1::DataPathVerdict VerdictBook::Take(const std::string& forward, Entry& entry) {
  entry.reported = Reported{entry.current.result.status, entry.current.generation};
  return ToProto(forward, entry.current);
}

std::vector<ferry::v1::DataPathVerdict> VerdictBook::TakeChanges() {
  std::vector<ferry::v1::DataPathVerdict> out;
  out.reserve(changed_.size());
  for (const std::string& forward : changed_) out.push_back(Take(forward, entries_.at(forward)));
  changed_.clear();
  return out;
}

std::vector<ferry::v1::DataPathVerdict> VerdictBook::TakeAll() {
  std::vector<std::pair<const std::string*, Entry*>> all;
  all.reserve(entries_.size());
  for (auto& [forward, entry] : entries_) all.emplace_back(&forward, &entry);
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  std::vector<ferry::v1::DataPathVerdict> out;
  out.reserve(all.size());
  for (const auto& [forward, entry] : all) out.push_back(Take(*forward, *entry));
  changed_.clear();
  return out;
}

const Verdict* VerdictBook::Find(const std::string& forward) const {
  auto it = entries_.find(forward);
  return it == entries_.end() ? nullptr : &it->second.current;
}

}  // namespace ferry::agent
