#ifndef FERRY_CONTROLLER_STORE_COMMIT_HANDOFF_H_
#define FERRY_CONTROLLER_STORE_COMMIT_HANDOFF_H_

// The write path's last commit, decoded, handed to a reader that follows
// the change log (the fleet's snapshot), so that the reader does not read
// back and parse what the writer has just parsed from its request. At 100k
// forwards that read-back was 1.2 s of the path from apply to Ready.
//
// The writer calls Begin before its Commit and Finish (or Abandon) after
// it; a reader that is about to read the log at revision R calls Take(R)
// first, which waits while a commit is under way, so that a pass woken by
// the commit does not race the hand-off and read it back. A commit holds
// all of one revision's changes, so what Take returns stands for the whole
// revision. Thread-safe.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class CommitHandoff {
 public:
  // Each object as a decode of its stored value would give it, without the
  // resourceVersion (the revision says it) and without a forward's status
  // (ForwardStatuses holds it).
  using Objects = std::vector<std::shared_ptr<ferry::v1::Object>>;

  // A commit is about to run.
  void Begin();
  // It committed `revision`, which holds exactly `objects`, all puts.
  void Finish(int64_t revision, Objects objects);
  // It failed, or it is not handed off.
  void Abandon();

  // The objects of `revision`, if they were handed off. Waits up to `wait`
  // while a commit is between Begin and Finish. A hand-off older than
  // `revision` can never be taken and is dropped.
  std::optional<Objects> Take(int64_t revision, absl::Duration wait);

 private:
  absl::Mutex mu_;
  bool committing_ ABSL_GUARDED_BY(mu_) = false;
  int64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
  Objects objects_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_STORE_COMMIT_HANDOFF_H_
