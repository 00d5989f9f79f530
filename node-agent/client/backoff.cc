#include "node-agent/client/backoff.h"

#include <algorithm>
#include <utility>

namespace ferry::agent {

Backoff::Backoff(Options options, RandomSource random)
    : options_(options), random_(std::move(random)), base_(options.initial) {}

absl::Duration Backoff::Next() {
  const double r = std::clamp(random_(), 0.0, 1.0);
  const double factor = 1.0 + options_.jitter * (2.0 * r - 1.0);
  const absl::Duration delay = std::min(base_ * factor, options_.max);
  base_ = std::min(base_ * options_.multiplier, options_.max);
  return delay;
}

void Backoff::Reset() { base_ = options_.initial; }

}  // namespace ferry::agent
