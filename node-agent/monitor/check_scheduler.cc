#include "node-agent/monitor/check_scheduler.h"

#include <algorithm>

namespace ferry::agent {

const char* CheckTrigger(CheckKind kind) {
  switch (kind) {
    case CheckKind::kEvent:
      return "event";
    case CheckKind::kPeriodic:
      return "periodic";
    case CheckKind::kSysctl:
      return "sysctl";
  }
  return "event";
}

CheckScheduler::CheckScheduler(Options options, absl::Time now)
    : options_(options),
      next_sysctl_(options.sysctl_poll > absl::ZeroDuration() ? now + options.sysctl_poll
                                                              : absl::InfiniteFuture()),
      next_verify_(now + options.verify_interval) {}

void CheckScheduler::OnEvent(absl::Time now) {
  if (!burst_first_.has_value()) burst_first_ = now;
  burst_last_ = now;
}

absl::Time CheckScheduler::NextDeadline() const {
  absl::Time next = std::min(next_sysctl_, next_verify_);
  if (burst_first_.has_value()) {
    next =
        std::min(next, std::min(burst_last_ + options_.quiet, *burst_first_ + options_.max_delay));
  }
  return next;
}

std::optional<CheckScheduler::Due> CheckScheduler::TakeDue(absl::Time now) {
  if (burst_first_.has_value() &&
      (now >= burst_last_ + options_.quiet || now >= *burst_first_ + options_.max_delay)) {
    const absl::Time first = *burst_first_;
    burst_first_.reset();
    if (now >= next_verify_) next_verify_ = now + options_.verify_interval;
    return Due{CheckKind::kEvent, first};
  }
  if (now >= next_verify_) {
    next_verify_ = now + options_.verify_interval;
    return Due{CheckKind::kPeriodic, now};
  }
  if (now >= next_sysctl_) {
    next_sysctl_ = now + options_.sysctl_poll;
    return Due{CheckKind::kSysctl, now};
  }
  return std::nullopt;
}

}  // namespace ferry::agent
