#include "controller/protection/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ferry::controller {

absl::Status ValidateRateLimit(const RateLimit& limit, const std::string& flag) {
  if (!limit.enabled()) return absl::OkStatus();
  if (!std::isfinite(limit.per_second)) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": rate must be a finite number"));
  }
  if (!(limit.burst >= 1) || !std::isfinite(limit.burst)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": burst must be at least 1, got ", limit.burst));
  }
  return absl::OkStatus();
}

RateLimiter::RateLimiter(RateLimit limit, Clock clock) : limit_(limit), clock_(std::move(clock)) {}

void RateLimiter::Refill(Bucket& bucket, absl::Time now) const {
  if (now <= bucket.updated) return;
  const double added = absl::ToDoubleSeconds(now - bucket.updated) * limit_.per_second;
  bucket.tokens = std::min(limit_.burst, bucket.tokens + added);
  bucket.updated = now;
}

absl::Duration RateLimiter::TryAcquire(const std::string& key) {
  if (!limit_.enabled()) return absl::ZeroDuration();
  const absl::Time now = clock_();
  absl::MutexLock l(&mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxKeys) PruneLocked(now);
    it = buckets_.emplace(key, Bucket{limit_.burst, now}).first;
  }
  Bucket& bucket = it->second;
  Refill(bucket, now);
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return absl::ZeroDuration();
  }
  // Rounded up, so a caller that waits exactly this long finds a token.
  const double seconds = (1 - bucket.tokens) / limit_.per_second;
  return absl::Ceil(absl::Seconds(seconds), absl::Milliseconds(1));
}

void RateLimiter::PruneLocked(absl::Time now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Refill(it->second, now);
    if (it->second.tokens >= limit_.burst) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  // Callers still mid-burst are kept: dropping one would hand it a fresh
  // bucket. So the map holds at most the callers seen within the last
  // burst/per_second seconds, and callers are peer hosts or node names.
}

size_t RateLimiter::KeyCountForTest() {
  absl::MutexLock l(&mu_);
  return buckets_.size();
}

}  // namespace ferry::controller
