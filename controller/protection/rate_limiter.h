#ifndef FERRY_CONTROLLER_PROTECTION_RATE_LIMITER_H_
#define FERRY_CONTROLLER_PROTECTION_RATE_LIMITER_H_

// Token buckets keyed by caller identity, so one client or agent that floods
// the controller is slowed down without slowing anyone else. Time comes in
// through the constructor, so tests drive it by hand.

#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ferry::controller {

struct RateLimit {
  // Tokens added per second; 0 or less turns the limit off.
  double per_second = 0;
  // Bucket size: how many calls may arrive at once after a quiet spell.
  double burst = 1;

  bool enabled() const { return per_second > 0; }
};

// INVALID_ARGUMENT naming `flag` unless the limit is off or has
// per_second > 0 and burst >= 1.
absl::Status ValidateRateLimit(const RateLimit& limit, const std::string& flag);

class RateLimiter {
 public:
  using Clock = std::function<absl::Time()>;

  // Buckets kept at most; beyond this, buckets that have refilled (and so
  // equal a fresh one) are dropped, so many one-off callers cannot grow
  // memory without bound.
  static constexpr size_t kMaxKeys = 10000;

  explicit RateLimiter(
      RateLimit limit, Clock clock = [] { return absl::Now(); });

  // Takes one token from `key`'s bucket. Returns zero if it had one, else
  // how long until it will (nothing is taken then).
  absl::Duration TryAcquire(const std::string& key);

  size_t KeyCountForTest();

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  void Refill(Bucket& bucket, absl::Time now) const;
  void PruneLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RateLimit limit_;
  const Clock clock_;
  absl::Mutex mu_;
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PROTECTION_RATE_LIMITER_H_
