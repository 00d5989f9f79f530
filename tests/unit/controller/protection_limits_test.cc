// The pieces that protect the controller, on simulated time: token buckets,
// the report throttle, client identity and the timer thread.

#include <atomic>

#include "absl/synchronization/notification.h"
#include "controller/protection/rate_limiter.h"
#include "controller/protection/report_throttle.h"
#include "controller/protection/timer_thread.h"
#include "controller/server/node_identity.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

class FakeClock {
 public:
  absl::Time Now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }
  RateLimiter::Clock AsClock() {
    return [this] { return now_; };
  }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1000);
};

TEST(RateLimiterTest, BurstIsAllowedThenRefusedWithTimeUntilNextToken) {
  FakeClock clock;
  RateLimiter limiter({/*per_second=*/10, /*burst=*/3}, clock.AsClock());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.TryAcquire("a"), absl::ZeroDuration()) << i;
  EXPECT_EQ(limiter.TryAcquire("a"), absl::Milliseconds(100));
}

TEST(RateLimiterTest, TokensRefillAtTheRate) {
  FakeClock clock;
  RateLimiter limiter({10, 1}, clock.AsClock());
  ASSERT_EQ(limiter.TryAcquire("a"), absl::ZeroDuration());
  ASSERT_GT(limiter.TryAcquire("a"), absl::ZeroDuration());
  clock.Advance(absl::Milliseconds(100));
  EXPECT_EQ(limiter.TryAcquire("a"), absl::ZeroDuration());
}

TEST(RateLimiterTest, EachKeyHasItsOwnBucket) {
  FakeClock clock;
  RateLimiter limiter({1, 1}, clock.AsClock());
  ASSERT_EQ(limiter.TryAcquire("flooder"), absl::ZeroDuration());
  ASSERT_GT(limiter.TryAcquire("flooder"), absl::ZeroDuration());
  EXPECT_EQ(limiter.TryAcquire("polite"), absl::ZeroDuration());
}

TEST(RateLimiterTest, DisabledLimitAllowsEverything) {
  RateLimiter limiter({0, 1});
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.TryAcquire("a"), absl::ZeroDuration());
}

TEST(RateLimiterTest, RefilledBucketsArePrunedSoManyCallersStayBounded) {
  FakeClock clock;
  RateLimiter limiter({1000, 1}, clock.AsClock());
  for (size_t i = 0; i < RateLimiter::kMaxKeys; ++i) limiter.TryAcquire(absl::StrCat("c", i));
  clock.Advance(absl::Seconds(1));
  limiter.TryAcquire("late");
  EXPECT_EQ(limiter.KeyCountForTest(), 1u);
}

TEST(RateLimiterTest, ValidationNamesTheFlag) {
  absl::Status s = ValidateRateLimit({10, 0.5}, "--client-write-rate/burst");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--client-write-rate/burst"));
  EXPECT_TRUE(ValidateRateLimit({0, 0}, "--x").ok());
}

ferry::v1::AgentMessage Addresses(const std::string& address) {
  ferry::v1::AgentMessage m;
  m.mutable_addresses()->add_addresses()->set_address(address);
  return m;
}

ferry::v1::AgentMessage Drift(const std::string& object, bool repaired, bool in_sync) {
  ferry::v1::AgentMessage m;
  m.mutable_drift()->set_in_sync(in_sync);
  ferry::v1::DriftItem* item = m.mutable_drift()->add_items();
  item->set_forward("web");
  item->set_kind("nftables");
  item->set_object(object);
  item->set_repaired(repaired);
  return m;
}

TEST(ReportThrottleTest, WithinTheLimitReportsPassAtOnce) {
  FakeClock clock;
  RateLimiter limiter({1, 2}, clock.AsClock());
  ReportThrottle throttle(&limiter, "node-a");
  EXPECT_FALSE(throttle.Hold(Addresses("192.0.2.1")));
  EXPECT_EQ(throttle.TakeAllowed().size(), 1u);
  EXPECT_FALSE(throttle.holding());
}

TEST(ReportThrottleTest, OverTheLimitOnlyTheLatestAddressUpdateIsKept) {
  FakeClock clock;
  RateLimiter limiter({1, 1}, clock.AsClock());
  ReportThrottle throttle(&limiter, "node-a");
  throttle.Hold(Addresses("192.0.2.1"));
  ASSERT_EQ(throttle.TakeAllowed().size(), 1u);
  EXPECT_FALSE(throttle.Hold(Addresses("192.0.2.2")));
  EXPECT_TRUE(throttle.TakeAllowed().empty());
  EXPECT_TRUE(throttle.Hold(Addresses("192.0.2.3")));
  EXPECT_TRUE(throttle.TakeAllowed().empty());
  EXPECT_EQ(throttle.retry_in(), absl::Seconds(1));

  clock.Advance(throttle.retry_in());
  std::vector<ferry::v1::AgentMessage> out = throttle.TakeAllowed();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].addresses().addresses(0).address(), "192.0.2.3");
  EXPECT_FALSE(throttle.holding());
}

TEST(ReportThrottleTest, SupersededDriftReportKeepsItsRepairedItems) {
  FakeClock clock;
  RateLimiter limiter({1, 1}, clock.AsClock());
  ReportThrottle throttle(&limiter, "node-a");
  throttle.Hold(Drift("first", false, false));
  ASSERT_EQ(throttle.TakeAllowed().size(), 1u);
  throttle.Hold(Drift("map dnat4 element a", /*repaired=*/true, /*in_sync=*/true));
  EXPECT_TRUE(throttle.Hold(Drift("map dnat4 element b", /*repaired=*/false, false)));
  clock.Advance(absl::Seconds(1));
  std::vector<ferry::v1::AgentMessage> out = throttle.TakeAllowed();
  ASSERT_EQ(out.size(), 1u);
  const ferry::v1::DriftReport& merged = out[0].drift();
  EXPECT_FALSE(merged.in_sync());  // the newer report's verdict
  ASSERT_EQ(merged.items_size(), 2);
  EXPECT_EQ(merged.items(0).object(), "map dnat4 element b");
  EXPECT_EQ(merged.items(1).object(), "map dnat4 element a");
  EXPECT_TRUE(merged.items(1).repaired());
}

TEST(ReportThrottleTest, UnrepairedDriftGoneFromTheNewerReportIsDropped) {
  ferry::v1::DriftReport merged =
      MergeDriftReports(Drift("old", false, false).drift(), Drift("new", false, false).drift());
  ASSERT_EQ(merged.items_size(), 1);
  EXPECT_EQ(merged.items(0).object(), "new");
}

TEST(ClientIdentityTest, PeerHostWithoutPort) {
  EXPECT_EQ(ClientIdentity("ipv4:127.0.0.1:45678"), "ipv4:127.0.0.1");
  EXPECT_EQ(ClientIdentity("ipv6:[::1]:45678"), "ipv6:[::1]");
  EXPECT_EQ(ClientIdentity("ipv6:%5B::1%5D:45678"), "ipv6:%5B::1%5D");
  EXPECT_EQ(ClientIdentity("unix:/run/ferry.sock"), "unix");
  EXPECT_EQ(ClientIdentity("unix:"), "unix");
}

class CountingTarget : public TimerThread::Target {
 public:
  void OnTimer() override {
    ++calls;
    fired.Notify();
  }
  std::atomic<int> calls{0};
  absl::Notification fired;
};

TEST(TimerThreadTest, CallsTheTargetAtItsDeadline) {
  TimerThread timer;
  CountingTarget target;
  timer.Schedule(&target, absl::Now() + absl::Milliseconds(10));
  EXPECT_TRUE(target.fired.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(target.calls.load(), 1);
}

TEST(TimerThreadTest, NearerDeadlineScheduledLaterIsNotDelayedByAFartherOne) {
  TimerThread timer;
  CountingTarget far, near;
  timer.Schedule(&far, absl::Now() + absl::Hours(1));
  timer.Schedule(&near, absl::Now() + absl::Milliseconds(10));
  EXPECT_TRUE(near.fired.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(far.calls.load(), 0);
  timer.Cancel(&far);
}

TEST(TimerThreadTest, CancelledTargetIsNeverCalled) {
  TimerThread timer;
  CountingTarget cancelled, witness;
  const absl::Time at = absl::Now() + absl::Milliseconds(20);
  timer.Schedule(&cancelled, at);
  timer.Cancel(&cancelled);
  // Later than the cancelled one would have run, so its call would be seen.
  timer.Schedule(&witness, at + absl::Milliseconds(20));
  ASSERT_TRUE(witness.fired.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(cancelled.calls.load(), 0);
}

}  // namespace
}  // namespace ferry::controller
