#include "controller/store/change_feed.h"

#include <algorithm>
#include <utility>

namespace ferry::controller {

ChangeFeed::ChangeFeed(Store* store, std::string kind, size_t batch_size, int64_t revision)
    : store_(store), kind_(std::move(kind)), batch_size_(batch_size), revision_(revision) {}

absl::StatusOr<ChangeFeed::Batch> ChangeFeed::Next() {
  // Read before the log: a read that reaches the end of the log holds every
  // change up to this revision, whatever its kind.
  const int64_t current = store_->CurrentRevision();
  absl::StatusOr<std::vector<Change>> changes = store_->ChangesSince(revision_, kind_, batch_size_);
  if (!changes.ok()) return changes.status();
  Batch batch;
  batch.changes = *std::move(changes);
  // A store returns all of a revision's changes together, so a full batch
  // may hold more than batch_size_; only a short one reached the end.
  batch.at_end = batch.changes.size() < batch_size_;
  if (!batch.changes.empty()) {
    revision_ = std::max(revision_, batch.changes.back().object.revision);
  }
  if (batch.at_end) revision_ = std::max(revision_, current);
  return batch;
}

}  // namespace ferry::controller
