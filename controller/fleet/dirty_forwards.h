#ifndef FERRY_CONTROLLER_FLEET_DIRTY_FORWARDS_H_
#define FERRY_CONTROLLER_FLEET_DIRTY_FORWARDS_H_

// Forwards whose status inputs changed on an agent stream (an ACK, a NACK,
// a drift report) since a pass last took them. News marks its forwards
// after it changed the state they read, so a pass that takes the set and
// then reads that state misses nothing; a forward marked again while the
// pass computes statuses is skipped, since the pass that news kicks
// recomputes it. Thread-safe; the lock is a leaf (taken last).

#include <set>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "controller/fleet/name_sets.h"

namespace ferry::controller {

class DirtyForwards {
 public:
  void Mark(std::set<std::string> forwards) {
    if (forwards.empty()) return;
    absl::MutexLock l(&mu_);
    MergeNames(&forwards_, std::move(forwards));
  }

  // Every forward marked since the last Take.
  std::set<std::string> Take() {
    absl::MutexLock l(&mu_);
    return std::exchange(forwards_, {});
  }

  // Marked since the last Take.
  bool Contains(const std::string& forward) {
    absl::MutexLock l(&mu_);
    return forwards_.count(forward) > 0;
  }
  // Whether nothing was marked since the last Take: a pass then checks
  // none of its forwards one by one.
  bool Empty() {
    absl::MutexLock l(&mu_);
    return forwards_.empty();
  }

 private:
  absl::Mutex mu_;
  std::set<std::string> forwards_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_DIRTY_FORWARDS_H_
