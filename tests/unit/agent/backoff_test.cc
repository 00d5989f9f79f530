// Spec: reconnect delays grow, are capped, are jittered within bounds, and
// start over after a stream delivered a message.

#include "node-agent/client/backoff.h"

#include <gtest/gtest.h>

namespace ferry::agent {
namespace {

Backoff::Options Defaults() { return Backoff::Options{}; }

// Midpoint random value: no jitter.
double Middle() { return 0.5; }

TEST(BackoffTest, StartsAtInitialAndDoubles) {
  Backoff backoff(Defaults(), Middle);
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(200));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(400));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(800));
}

TEST(BackoffTest, NeverExceedsMax) {
  Backoff backoff(Defaults(), [] { return 0.999; });
  absl::Duration last;
  for (int i = 0; i < 20; ++i) last = backoff.Next();
  EXPECT_EQ(last, absl::Seconds(10));
}

TEST(BackoffTest, CapReachedAfterEnoughAttempts) {
  Backoff backoff(Defaults(), Middle);
  for (int i = 0; i < 6; ++i) backoff.Next();  // 200ms .. 6.4s
  EXPECT_EQ(backoff.Next(), absl::Seconds(10));
  EXPECT_EQ(backoff.Next(), absl::Seconds(10));
}

TEST(BackoffTest, JitterStaysWithinTwentyPercent) {
  Backoff low(Defaults(), [] { return 0.0; });
  Backoff high(Defaults(), [] { return 0.9999999; });
  EXPECT_EQ(low.Next(), absl::Milliseconds(160));
  absl::Duration upper = high.Next();
  EXPECT_GT(upper, absl::Milliseconds(239));
  EXPECT_LE(upper, absl::Milliseconds(240));
}

TEST(BackoffTest, ResetStartsOver) {
  Backoff backoff(Defaults(), Middle);
  backoff.Next();
  backoff.Next();
  backoff.Reset();
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(200));
}

}  // namespace
}  // namespace ferry::agent
