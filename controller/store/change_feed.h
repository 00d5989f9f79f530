#ifndef FERRY_CONTROLLER_STORE_CHANGE_FEED_H_
#define FERRY_CONTROLLER_STORE_CHANGE_FEED_H_

// A reader's place in the store's change log: the one way to catch up on
// what changed since a revision, batch by batch. The fleet's snapshot, the
// write path's forward index and ResourceService.Watch all follow the log
// with it, each at its own pace.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/store/store.h"

namespace ferry::controller {

class ChangeFeed {
 public:
  struct Batch {
    std::vector<Change> changes;  // oldest first
    // The read reached the end of the log: every change up to revision()
    // has now been returned.
    bool at_end = false;
  };

  // Follows changes of `kind` ("" for every kind) after `revision`,
  // reading at most `batch_size` per Next.
  ChangeFeed(Store* store, std::string kind, size_t batch_size, int64_t revision = 0);

  // The next changes after revision(), and advances past them. At the end
  // of the log it advances to the store's revision as of the read, so
  // revisions of other kinds (and empty ones) are skipped too. OUT_OF_RANGE
  // when the log no longer reaches back to revision(): the reader re-lists
  // and Resets. Never splits one revision's changes across two batches, so
  // resuming after the last change seen skips nothing.
  absl::StatusOr<Batch> Next();

  // Every change up to here has been read (or listed).
  int64_t revision() const { return revision_; }
  // Resumes after `revision`: after a List, or past one's own commit.
  void Reset(int64_t revision) { revision_ = revision; }

 private:
  Store* const store_;
  const std::string kind_;
  const size_t batch_size_;
  int64_t revision_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_STORE_CHANGE_FEED_H_
