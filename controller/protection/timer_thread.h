#ifndef FERRY_CONTROLLER_PROTECTION_TIMER_THREAD_H_
#define FERRY_CONTROLLER_PROTECTION_TIMER_THREAD_H_

// One thread that calls targets back at their deadlines. gRPC reactions must
// not block, so work deferred by a reaction (flushing a held-back report,
// cutting off a stalled watch) runs here.

#include <map>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ferry::controller {

class TimerThread {
 public:
  class Target {
   public:
    virtual ~Target() = default;
    // Runs on the timer thread, without the timer's lock; may Schedule again.
    virtual void OnTimer() = 0;
  };

  TimerThread();
  // Joins the thread; scheduled callbacks that are not due never run.
  ~TimerThread();
  TimerThread(const TimerThread&) = delete;
  TimerThread& operator=(const TimerThread&) = delete;

  // Calls `target->OnTimer()` once at `when` (or soon after). Scheduling a
  // target again moves its deadline.
  void Schedule(Target* target, absl::Time when);

  // Forgets `target`, waiting for its OnTimer if that is running, so the
  // target may be destroyed when this returns. Must not be called from the
  // target's own OnTimer.
  void Cancel(Target* target);

 private:
  void Run();
  bool ShouldWake() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::map<Target*, absl::Time> due_ ABSL_GUARDED_BY(mu_);
  Target* running_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  // The deadline the thread sleeps until; earlier ones must wake it.
  absl::Time waiting_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::thread thread_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PROTECTION_TIMER_THREAD_H_
