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

std::vector<ferry::v1::DataPathVerdict> VerdictBook::TakeChanges() {
  std::vector<ferry::v1::DataPathVerdict> out;
  out.reserve(changed_.size());
  for (const std::string& forward : changed_) {
    Entry& entry = entries_.at(forward);
    entry.reported = Reported{entry.current.result.status, entry.current.generation};
    out.push_back(ToProto(forward, entry.current));
  }
  changed_.clear();
  return out;
}

std::vector<ferry::v1::DataPathVerdict> VerdictBook::TakeAll() {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [forward, entry] : entries_) names.push_back(forward);
  std::sort(names.begin(), names.end());
  std::vector<ferry::v1::DataPathVerdict> out;
  out.reserve(names.size());
  for (const std::string& forward : names) {
    Entry& entry = entries_.at(forward);
    entry.reported = Reported{entry.current.result.status, entry.current.generation};
    out.push_back(ToProto(forward, entry.current));
  }
  changed_.clear();
  return out;
}

const Verdict* VerdictBook::Find(const std::string& forward) const {
  auto it = entries_.find(forward);
  return it == entries_.end() ? nullptr : &it->second.current;
}

}  // namespace ferry::agent
