#ifndef FERRY_NODE_AGENT_CLIENT_BACKOFF_H_
#define FERRY_NODE_AGENT_CLIENT_BACKOFF_H_

// Exponential reconnect delay with jitter, so agents that lost the
// controller together do not come back together. Pure: the random source is
// injected and nothing here sleeps.

#include <functional>

#include "absl/time/time.h"

namespace ferry::agent {

class Backoff {
 public:
  struct Options {
    absl::Duration initial = absl::Milliseconds(200);
    double multiplier = 2.0;
    absl::Duration max = absl::Seconds(10);
    double jitter = 0.2;  // each delay is base * [1 - jitter, 1 + jitter]
  };
  // Returns a uniform value in [0, 1).
  using RandomSource = std::function<double()>;

  Backoff(Options options, RandomSource random);

  // The delay before the next attempt; grows the base for the one after.
  // Never more than options.max.
  absl::Duration Next();

  // Called when a stream delivers its first message (Envoy's rule: a stream
  // that opens and dies at once must keep backing off).
  void Reset();

 private:
  const Options options_;
  RandomSource random_;
  absl::Duration base_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_CLIENT_BACKOFF_H_
