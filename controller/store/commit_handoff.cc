#include "controller/store/commit_handoff.h"

#include <utility>

namespace ferry::controller {

void CommitHandoff::Begin() {
  absl::MutexLock lock(&mu_);
  committing_ = true;
}

void CommitHandoff::Finish(int64_t revision, Objects objects) {
  absl::MutexLock lock(&mu_);
  committing_ = false;
  revision_ = revision;
  objects_ = std::move(objects);
}

void CommitHandoff::Abandon() {
  absl::MutexLock lock(&mu_);
  committing_ = false;
}

std::optional<CommitHandoff::Objects> CommitHandoff::Take(int64_t revision, absl::Duration wait) {
  Objects taken;
  bool match = false;
  {
    absl::MutexLock lock(&mu_);
    auto settled = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !committing_; };
    mu_.AwaitWithTimeout(absl::Condition(&settled), wait);
    if (revision_ > revision || objects_.empty()) return std::nullopt;  // a later one: kept
    match = revision_ == revision;
    taken.swap(objects_);
    revision_ = 0;
  }
  // A stale hand-off is freed here, outside the lock: 100k objects take a while.
  if (!match) return std::nullopt;
  return taken;
}

}  // namespace ferry::controller
