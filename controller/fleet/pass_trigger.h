#ifndef FERRY_CONTROLLER_FLEET_PASS_TRIGGER_H_
#define FERRY_CONTROLLER_FLEET_PASS_TRIGGER_H_

// Coalesces the reasons for a reconcile pass (a store change, stream news,
// a lost race, a failure's backoff) into one wake-up of the loop, and tells
// the loop's threads to stop. Thread-safe; Kick never blocks for long.

#include <algorithm>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ferry::controller {

class PassTrigger {
 public:
  // Asks for a pass. Kicks before the next wait count once.
  void Kick() {
    absl::MutexLock l(&mu_);
    kicked_ = true;
  }

  // Asks for a pass `delay` from now (or sooner, if kicked before).
  void KickAfter(absl::Duration delay) {
    absl::MutexLock l(&mu_);
    wake_at_ = std::min(wake_at_, absl::Now() + delay);
  }

  // Waits until kicked, a KickAfter's time or `timeout` passed, and takes
  // the kick. False once stopping. Starts kicked, so the first wait returns
  // at once.
  bool Wait(absl::Duration timeout) {
    absl::MutexLock l(&mu_);
    mu_.AwaitWithDeadline(absl::Condition(this, &PassTrigger::WakeLocked),
                          std::min(absl::Now() + timeout, wake_at_));
    if (stopping_) return false;
    kicked_ = false;
    if (absl::Now() >= wake_at_) wake_at_ = absl::InfiniteFuture();
    return true;
  }

  // Waits `delay` (unless stopping), then counts as kicked: a failed pass
  // is retried after its backoff.
  void Backoff(absl::Duration delay) {
    absl::MutexLock l(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
    kicked_ = true;
  }

  void Stop() {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }

  // Waits until stopping or `timeout` passed; true if stopping.
  bool WaitForStop(absl::Duration timeout) {
    absl::MutexLock l(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&stopping_), timeout);
  }

  bool stopping() {
    absl::MutexLock l(&mu_);
    return stopping_;
  }

 private:
  bool WakeLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return kicked_ || stopping_; }

  absl::Mutex mu_;
  bool kicked_ ABSL_GUARDED_BY(mu_) = true;
  absl::Time wake_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_PASS_TRIGGER_H_
