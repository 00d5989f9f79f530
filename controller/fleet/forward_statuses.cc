#include "controller/fleet/forward_statuses.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace ferry::controller {

ForwardStatuses::ForwardStatuses(Store* store, size_t retained_names)
    : store_(store), retained_names_(retained_names) {}

absl::StatusOr<int64_t> ForwardStatuses::Publish(std::vector<Update> updates) {
  WriteOp marker;
  marker.kind = kMarkerKind;
  marker.name = "ipforwards";
  absl::MutexLock lock(&mu_);
  // Committed under the lock: a Pin's store snapshot then sees a marker
  // only together with the statuses it stands for.
  absl::StatusOr<int64_t> revision = store_->Commit({marker});
  if (!revision.ok()) return revision.status();
  auto names = std::make_shared<std::vector<std::string>>();
  names->reserve(updates.size());
  for (Update& update : updates) {
    if (update.status == nullptr) {
      table_.erase(update.name);
    } else {
      table_.insert_or_assign(update.name, std::move(update.status));
    }
    names->push_back(std::move(update.name));
  }
  logged_names_ += names->size();
  log_.emplace(*revision, std::move(names));
  while (logged_names_ > retained_names_ && log_.size() > 1) {
    logged_names_ -= log_.begin()->second->size();
    log_.erase(log_.begin());
  }
  return *revision;
}

ForwardStatuses::Bytes ForwardStatuses::Get(const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = table_.find(name);
  return it == table_.end() ? nullptr : it->second;
}

std::vector<ForwardStatuses::Bytes> ForwardStatuses::GetMany(
    absl::Span<const std::string> names) const {
  std::vector<Bytes> out;
  out.reserve(names.size());
  absl::ReaderMutexLock lock(&mu_);
  for (const std::string& name : names) {
    auto it = table_.find(name);
    out.push_back(it == table_.end() ? nullptr : it->second);
  }
  return out;
}

std::vector<std::string> ForwardStatuses::Names() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> names;
  names.reserve(table_.size());
  for (const auto& [name, status] : table_) names.push_back(name);
  return names;
}

size_t ForwardStatuses::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return table_.size();
}

absl::StatusOr<std::shared_ptr<const std::vector<std::string>>> ForwardStatuses::ChangedAt(
    int64_t revision) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = log_.find(revision);
  if (it == log_.end()) {
    return absl::OutOfRangeError(
        absl::StrCat("the status changes of revision ", revision, " are no longer kept"));
  }
  return it->second;
}

ForwardStatuses::Pin::Pin(const ForwardStatuses* statuses) ABSL_NO_THREAD_SAFETY_ANALYSIS
    : statuses_(statuses) {
  statuses_->mu_.ReaderLock();
}

ForwardStatuses::Pin::~Pin() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (held_) statuses_->mu_.ReaderUnlock();
}

ForwardStatuses::Table ForwardStatuses::Pin::Take() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (!held_) return {};
  Table copy = statuses_->table_;
  statuses_->mu_.ReaderUnlock();
  held_ = false;
  return copy;
}

}  // namespace ferry::controller
