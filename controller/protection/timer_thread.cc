#include "controller/protection/timer_thread.h"

#include <algorithm>

namespace ferry::controller {

TimerThread::TimerThread() : thread_([this] { Run(); }) {}

TimerThread::~TimerThread() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void TimerThread::Schedule(Target* target, absl::Time when) {
  absl::MutexLock l(&mu_);
  due_[target] = when;
  // Moving a deadline later (a watch's stall guard, on every write) must not
  // wake the thread each time.
  if (when < waiting_until_) wake_ = true;
}

void TimerThread::Cancel(Target* target) {
  struct Args {
    TimerThread* self;
    Target* target;
  } args{this, target};
  absl::MutexLock l(&mu_);
  // Await evaluates the condition with mu_ held.
  mu_.Await(absl::Condition(
      +[](Args* a) ABSL_NO_THREAD_SAFETY_ANALYSIS { return a->self->running_ != a->target; },
      &args));
  due_.erase(target);
}

bool TimerThread::ShouldWake() const { return stopping_ || wake_; }

void TimerThread::Run() {
  absl::MutexLock l(&mu_);
  while (true) {
    absl::Time next = absl::InfiniteFuture();
    for (const auto& [target, when] : due_) next = std::min(next, when);
    // Schedule wakes the wait, so a nearer new deadline is not missed.
    wake_ = false;
    waiting_until_ = next;
    mu_.AwaitWithDeadline(absl::Condition(this, &TimerThread::ShouldWake), next);
    // Until the loop sleeps again it recomputes the deadline anyway.
    waiting_until_ = absl::InfinitePast();
    if (stopping_) return;
    const absl::Time now = absl::Now();
    for (auto it = due_.begin(); it != due_.end();) {
      if (it->second > now) {
        ++it;
        continue;
      }
      Target* target = it->first;
      due_.erase(it);
      running_ = target;
      mu_.Unlock();
      target->OnTimer();
      mu_.Lock();
      running_ = nullptr;
      if (stopping_) return;
      it = due_.begin();  // OnTimer or Cancel may have changed the map
    }
  }
}

}  // namespace ferry::controller
