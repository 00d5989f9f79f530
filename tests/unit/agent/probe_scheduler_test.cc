// Spec: when the agent probes each forward's rules (right after an apply
// or a drift repair, then periodically), within the rate limit and the
// in-flight bound, and what it tells the controller (changed verdicts,
// everything after a reconnect, nothing about forwards it no longer
// probes). A fake prober and a fake clock; no sockets, no sleeps.

#include "node-agent/probe/probe_scheduler.h"

#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Records each probe; the test completes them.
class FakeProber : public Prober {
 public:
  struct Call {
    ProbeTarget target;
    Done done;
    bool completed = false;
  };
  void Probe(const ProbeTarget& target, Done done) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back(Call{target, std::move(done)});
  }
  size_t started() const {
    absl::MutexLock lock(&mu_);
    return calls_.size();
  }
  ProbeTarget target(size_t i) const {
    absl::MutexLock lock(&mu_);
    return calls_.at(i).target;
  }
  std::vector<uint16_t> ports() const {
    absl::MutexLock lock(&mu_);
    std::vector<uint16_t> out;
    for (const Call& c : calls_) out.push_back(c.target.port);
    return out;
  }
  // Completes probe `i` (in start order).
  void Complete(size_t i, ProbeStatus status, std::string message = "") {
    Done done;
    {
      absl::MutexLock lock(&mu_);
      Call& call = calls_.at(i);
      EXPECT_FALSE(call.completed) << "probe " << i << " completed twice";
      call.completed = true;
      done = std::move(call.done);
    }
    if (message.empty()) message = absl::StrCat("port ", target(i).port);
    done(ProbeResult{status, std::move(message)});
  }
  // Completes every running probe with `status`.
  void CompleteAll(ProbeStatus status) {
    for (size_t i = 0; i < started(); ++i) {
      bool done = false;
      {
        absl::MutexLock lock(&mu_);
        done = calls_[i].completed;
      }
      if (!done) Complete(i, status);
    }
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
};

ferry::v1::DnatRule Rule(const std::string& forward, uint32_t port, int64_t generation = 1,
                         uint32_t period = 15) {
  ferry::v1::DnatRule rule;
  rule.set_forward(forward);
  rule.set_generation(generation);
  rule.set_frontend_address("192.0.2.1");
  rule.set_protocol(ferry::v1::TCP);
  rule.set_port(port);
  rule.set_backend_address("10.8.0.2");
  rule.set_target_port(port + 8000);
  rule.set_probe_period_seconds(period);
  rule.set_probe_timeout_seconds(2);
  return rule;
}

ferry::v1::NodeConfig Config(std::vector<ferry::v1::DnatRule> rules) {
  ferry::v1::NodeConfig config;
  for (auto& rule : rules) *config.add_dnat() = std::move(rule);
  return config;
}

class ProbeSchedulerTest : public ::testing::Test {
 protected:
  void Make(ProbeScheduler::Options options = {}) {
    scheduler_ = std::make_unique<ProbeScheduler>(
        &prober_,
        [this](const ferry::v1::DataPathReport& report) {
          reports_.push_back(report);
          return send_ok_;
        },
        options, [this] { return now_; });
  }
  void SetUp() override { Make(); }

  void Advance(absl::Duration d) { now_ += d; }
  // The reports sent since the last call.
  std::vector<ferry::v1::DataPathReport> Sent() {
    std::vector<ferry::v1::DataPathReport> out;
    out.swap(reports_);
    return out;
  }
  // Verdicts of one report as "forward=status".
  static std::vector<std::string> Verdicts(const ferry::v1::DataPathReport& report) {
    std::vector<std::string> out;
    for (const auto& v : report.verdicts()) {
      out.push_back(absl::StrCat(v.forward(), "=", v.status(), "@", v.generation()));
    }
    return out;
  }

  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  FakeProber prober_;
  std::vector<ferry::v1::DataPathReport> reports_;
  bool send_ok_ = true;
  std::unique_ptr<ProbeScheduler> scheduler_;
};

TEST_F(ProbeSchedulerTest, AnAppliedConfigProbesEveryProbedRuleAtOnce) {
  ferry::v1::DnatRule query = Rule("web", 90);
  query.set_route_query(true);
  scheduler_->Applied(Config({Rule("web", 80), Rule("web", 443), Rule("api", 81),
                              Rule("dflt", 82, 1, /*period=*/0), query}));
  scheduler_->RunOnce();
  // By forward, then push order; a period of 0 is the agent's default.
  EXPECT_THAT(prober_.ports(), ElementsAre(81, 82, 80, 443));
  EXPECT_EQ(prober_.target(2).target_port, 8080);
  EXPECT_EQ(scheduler_->rules(), 4u);
}

TEST_F(ProbeSchedulerTest, AVerdictWaitsForEveryRuleAndIsReportedOnce) {
  scheduler_->Applied(Config({Rule("web", 80), Rule("web", 443)}));
  scheduler_->RunOnce();
  prober_.Complete(0, ProbeStatus::kTrue, "handshake 80");
  scheduler_->RunOnce();
  EXPECT_THAT(Sent(), IsEmpty());
  prober_.Complete(1, ProbeStatus::kTrue, "handshake 443");
  scheduler_->RunOnce();
  std::vector<ferry::v1::DataPathReport> sent = Sent();
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_FALSE(sent[0].full());
  EXPECT_THAT(Verdicts(sent[0]), ElementsAre("web=True@1"));
  EXPECT_EQ(sent[0].verdicts(0).message(), "handshake 80, and 1 more port");
  EXPECT_EQ(sent[0].verdicts(0).reason(), "Verified");
  EXPECT_EQ(sent[0].verdicts(0).checked_at().seconds(), 1700000000);
}

TEST_F(ProbeSchedulerTest, AnyFailedRuleFailsTheForwardWithItsMessage) {
  scheduler_->Applied(Config({Rule("web", 80), Rule("web", 443)}));
  scheduler_->RunOnce();
  prober_.Complete(0, ProbeStatus::kTrue);
  prober_.Complete(1, ProbeStatus::kFalse, "connection refused by 10.8.0.2:8443 (RST)");
  // A new rule's first failure is probed once more before it counts.
  scheduler_->RunOnce();
  EXPECT_THAT(Sent(), IsEmpty());
  EXPECT_EQ(prober_.started(), 2u);
  Advance(absl::Seconds(1));
  scheduler_->RunOnce();
  ASSERT_EQ(prober_.started(), 3u);
  EXPECT_EQ(prober_.target(2).port, 443);
  prober_.Complete(2, ProbeStatus::kFalse, "connection refused by 10.8.0.2:8443 (RST)");
  scheduler_->RunOnce();
  std::vector<ferry::v1::DataPathReport> sent = Sent();
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_THAT(Verdicts(sent[0]), ElementsAre("web=False@1"));
  EXPECT_EQ(sent[0].verdicts(0).reason(), "ProbeFailed");
  EXPECT_EQ(sent[0].verdicts(0).message(), "connection refused by 10.8.0.2:8443 (RST)");
}

TEST_F(ProbeSchedulerTest, AFirstFailureThatPassesOnItsSecondProbeIsNeverReported) {
  scheduler_->Applied(Config({Rule("web", 80)}));
  scheduler_->RunOnce();
  prober_.Complete(0, ProbeStatus::kFalse);
  Advance(absl::Seconds(1));
  scheduler_->RunOnce();
  prober_.Complete(1, ProbeStatus::kTrue);
  scheduler_->RunOnce();
  std::vector<ferry::v1::DataPathReport> sent = Sent();
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_THAT(Verdicts(sent[0]), ElementsAre("web=True@1"));
}

TEST_F(ProbeSchedulerTest, UnknownWithoutFailureIsUnknown) {
  scheduler_->Applied(Config({Rule("dns", 53), Rule("dns", 54)}));
  scheduler_->RunOnce();
  prober_.Complete(0, ProbeStatus::kTrue);
  prober_.Complete(1, ProbeStatus::kUnknown, "no reply to an empty datagram");
  scheduler_->RunOnce();
  std::vector<ferry::v1::DataPathReport> sent = Sent();
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_THAT(Verdicts(sent[0]), ElementsAre("dns=Unknown@1"));
  EXPECT_EQ(sent[0].verdicts(0).reason(), "Unproven");
}

TEST_F(ProbeSchedulerTest, EachRuleIsProbedAgainEveryPeriod) {
  scheduler_->Applied(Config({Rule("web", 80, 1, /*period=*/10)}));
  scheduler_->RunOnce();
  Advance(absl::Milliseconds(20));
  prober_.Complete(0, ProbeStatus::kTrue);
  const absl::Time next = scheduler_->RunOnce();
  EXPECT_EQ(next, absl::FromUnixSeconds(1700000010));  // a period after the probe started
  Advance(absl::Seconds(9));
  scheduler_->RunOnce();
  EXPECT_EQ(prober_.started(), 1u);
  Advance(absl::Seconds(1));
  scheduler_->RunOnce();
  EXPECT_EQ(prober_.started(), 2u);
}

TEST_F(ProbeSchedulerTest, AnUnchangedVerdictIsNotReportedAgain) {
  scheduler_->Applied(Config({Rule("web", 80, 1, /*period=*/10)}));
  scheduler_->RunOnce();
  prober_.Complete(0, ProbeStatus::kTrue);
  scheduler_->RunOnce();
  EXPECT_THAT(Sent(), SizeIs(1));
  Advance(absl::Seconds(10));
  scheduler_->RunOnce();
  prober_.Complete(1, ProbeStatus::kTrue, "another message, same status");
  scheduler_->RunOnce();
  EXPECT_THAT(Sent(), IsEmpty());
  Advance(absl::Seconds(10));
  scheduler_->RunOnce();
  prober_.Complete(2, ProbeStatus::kFalse, "no SYN-ACK");  // not a new rule: counts at once
  scheduler_->RunOnce();
  std::vector<ferry::v1::DataPathReport> sent = Sent();
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_THAT(Verdicts(sent[0]), ElementsAre("web=False@1"));
}

TEST_F(ProbeSchedulerTest, StartsAreRateLimited) {
  ProbeScheduler::Options options;
  options.rate = 20;  // a bucket of 2, refilled every 50 ms
  Make(options);
  std::vector<ferry::v1::DnatRule> rules;
  for (uint32_t port = 1; port <= 10; ++port) rules.push_back(Rule("f", port));
  scheduler_->Applied(Config(rules));
  absl::Time next = scheduler_->RunOnce();
  EXPECT_EQ(prober_.started(), 2u);
  EXPECT_EQ(next, now_ + absl::Milliseconds(50));
  Advance(absl::Milliseconds(50));
  scheduler_->RunOnce();
  EXPECT_EQ(prober_.started(), 3u);
  Advance(absl::Milliseconds(200));
  scheduler_->RunOnce();
  EXPECT_EQ(prober_.started(), 5u);  // the bucket holds 2, not 4
  Advance(absl::Seconds(1));
  scheduler_->RunOnce();
  EXPECT_EQ(prober_.started(), 7u);
}

TEST_F(ProbeSchedulerTest, AtMostMaxInFlightRunAtOnce) {
  ProbeScheduler::Options options;
  options.rate = 10000;
  options.max_in_flight = 3;
  Make(options);
  std::vector<ferry::v1::DnatRule> rules;
  for (uint32_t port = 1; port <= 5; ++port) rules.push_back(Rule("f", port));
  scheduler_->Applied(Config(rules));
  EXPECT_EQ(scheduler_->RunOnce(), absl::InfiniteFuture());  // a result wakes it
  EXPECT_EQ(prober_.started(), 3u);
  EXPECT_EQ(scheduler_->in_flight(), 3u);
  prober_.Complete(1, ProbeStatus::kTrue);
  Advance(absl::Seconds(1));
  scheduler_->RunOnce();
  EXPECT_EQ(prober_.started(), 4u);
  EXPECT_EQ(scheduler_->in_flight(), 3u);
}

TEST_F(ProbeSchedulerTest, OverdueRulesGoInDueOrderSoPeriodsStretchAlike) {
  ProbeScheduler::Options options;
  options.rate = 2;  // a bucket of 1: a round of 3 takes 1.5 s, over the 1 s period
  Make(options);
  scheduler_->Applied(
      Config({Rule("a", 1, 1, /*period=*/1), Rule("b", 2, 1, 1), Rule("c", 3, 1, 1)}));
  for (int i = 0; i < 9; ++i) {
    scheduler_->RunOnce();
    prober_.CompleteAll(ProbeStatus::kTrue);
    Advance(absl::Milliseconds(500));
  }
  // Every rule waits alike: round robin a, b, c, each every 1.5 s.
  EXPECT_THAT(prober_.ports(), ElementsAre(1, 2, 3, 1, 2, 3, 1, 2, 3));
}

TEST_F(ProbeSchedulerTest, AGenerationChangeReprobesAtOnceAndIsReported) {
  scheduler_->Applied(Config({Rule("web", 80, 1), Rule("api", 81, 1)}));
  scheduler_->RunOnce();
  prober_.CompleteAll(ProbeStatus::kTrue);
  scheduler_->RunOnce();
  Sent();
  scheduler_->Applied(Config({Rule("web", 80, 2), Rule("api", 81, 1)}));
  scheduler_->RunOnce();
  ASSERT_EQ(prober_.started(), 3u);  // web only
  EXPECT_EQ(prober_.target(2).port, 80);
  // Until the new generation's probe ends, the previous verdict stands.
  EXPECT_EQ(scheduler_->VerdictOf("web")->generation, 1);
  prober_.Complete(2, ProbeStatus::kTrue);
  scheduler_->RunOnce();
  std::vector<ferry::v1::DataPathReport> sent = Sent();
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_THAT(Verdicts(sent[0]), ElementsAre("web=True@2"));
}

TEST_F(ProbeSchedulerTest, AnUnchangedPushProbesNothing) {
  scheduler_->Applied(Config({Rule("web", 80)}));
  scheduler_->RunOnce();
  prober_.CompleteAll(ProbeStatus::kTrue);
  scheduler_->Applied(Config({Rule("web", 80)}));
  scheduler_->RunOnce();
  EXPECT_EQ(prober_.started(), 1u);
}

TEST_F(ProbeSchedulerTest, ADeltaReprobesOnlyTheForwardsItNames) {
  scheduler_->Applied(Config({Rule("web", 80), Rule("api", 81)}));
  scheduler_->RunOnce();
  prober_.CompleteAll(ProbeStatus::kTrue);
  ferry::v1::NodeConfigDelta delta;
  delta.add_forwards("web");
  *delta.add_dnat() = Rule("web", 8000, 2);
  scheduler_->Applied(delta);
  scheduler_->RunOnce();
  EXPECT_THAT(prober_.ports(), ElementsAre(81, 80, 8000));
}

TEST_F(ProbeSchedulerTest, RemovedForwardsAreForgottenAndLeftOutOfTheNextFullReport) {
  scheduler_->Applied(Config({Rule("web", 80), Rule("api", 81)}));
  scheduler_->RunOnce();
  prober_.Complete(0, ProbeStatus::kTrue);  // api
  scheduler_->RunOnce();
  Sent();
  // web is removed while its probe runs, api by a delta.
  scheduler_->Applied(Config({Rule("api", 81)}));
  prober_.Complete(1, ProbeStatus::kFalse);
  ferry::v1::NodeConfigDelta delta;
  delta.add_forwards("api");
  scheduler_->Applied(delta);
  scheduler_->RunOnce();
  EXPECT_THAT(Sent(), IsEmpty());
  EXPECT_EQ(scheduler_->rules(), 0u);
  EXPECT_EQ(scheduler_->in_flight(), 0u);
  scheduler_->Connected();
  scheduler_->RunOnce();
  std::vector<ferry::v1::DataPathReport> sent = Sent();
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_TRUE(sent[0].full());
  EXPECT_THAT(sent[0].verdicts(), IsEmpty());
  Advance(absl::Minutes(5));
  scheduler_->RunOnce();
  EXPECT_EQ(prober_.started(), 2u);
}

TEST_F(ProbeSchedulerTest, EveryConnectionGetsAFullReport) {
  scheduler_->Applied(Config({Rule("web", 80), Rule("api", 81)}));
  scheduler_->RunOnce();
  prober_.CompleteAll(ProbeStatus::kTrue);
  scheduler_->RunOnce();
  EXPECT_THAT(Sent(), SizeIs(1));
  scheduler_->Connected();
  scheduler_->RunOnce();
  std::vector<ferry::v1::DataPathReport> sent = Sent();
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_TRUE(sent[0].full());
  EXPECT_THAT(Verdicts(sent[0]), ElementsAre("api=True@1", "web=True@1"));
  scheduler_->RunOnce();
  EXPECT_THAT(Sent(), IsEmpty());
}

TEST_F(ProbeSchedulerTest, ChangesLostWithoutAStreamAreInTheNextFullReport) {
  scheduler_->Applied(Config({Rule("web", 80)}));
  scheduler_->RunOnce();
  send_ok_ = false;
  prober_.Complete(0, ProbeStatus::kTrue);
  scheduler_->RunOnce();
  EXPECT_THAT(Sent(), SizeIs(1));  // tried, not sent
  send_ok_ = true;
  scheduler_->Connected();
  scheduler_->RunOnce();
  std::vector<ferry::v1::DataPathReport> sent = Sent();
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_THAT(Verdicts(sent[0]), ElementsAre("web=True@1"));
}

TEST_F(ProbeSchedulerTest, ALargeFullReportIsSplitWithMoreOnAllButTheLast) {
  ProbeScheduler::Options options;
  options.max_verdicts_per_report = 2;
  Make(options);
  scheduler_->Applied(Config({Rule("a", 1), Rule("b", 2), Rule("c", 3), Rule("d", 4)}));
  scheduler_->RunOnce();
  prober_.CompleteAll(ProbeStatus::kTrue);
  scheduler_->Connected();
  scheduler_->RunOnce();
  std::vector<ferry::v1::DataPathReport> sent = Sent();
  ASSERT_THAT(sent, SizeIs(2));
  EXPECT_TRUE(sent[0].full());
  EXPECT_TRUE(sent[0].more());
  EXPECT_THAT(Verdicts(sent[0]), ElementsAre("a=True@1", "b=True@1"));
  EXPECT_TRUE(sent[1].full());
  EXPECT_FALSE(sent[1].more());
  EXPECT_THAT(Verdicts(sent[1]), ElementsAre("c=True@1", "d=True@1"));
}

TEST_F(ProbeSchedulerTest, ARepairedForwardIsProbedAtOnce) {
  scheduler_->Applied(Config({Rule("web", 80), Rule("api", 81)}));
  scheduler_->RunOnce();
  prober_.CompleteAll(ProbeStatus::kTrue);
  scheduler_->RunOnce();
  scheduler_->Repaired({"web", "unknown"});
  scheduler_->RunOnce();
  EXPECT_THAT(prober_.ports(), ElementsAre(81, 80, 80));
  scheduler_->RepairedAll();
  scheduler_->RunOnce();
  // web's repair probe still runs: it is probed again once it ends.
  EXPECT_THAT(prober_.ports(), ElementsAre(81, 80, 80, 81));
  prober_.Complete(2, ProbeStatus::kTrue);
  scheduler_->RunOnce();
  EXPECT_THAT(prober_.ports(), ElementsAre(81, 80, 80, 81, 80));
}

// A prober that answers inside Probe, as a probe that cannot start does.
class SyncProber : public Prober {
 public:
  void Probe(const ProbeTarget& target, Done done) override {
    done(ProbeResult{ProbeStatus::kTrue, absl::StrCat("port ", target.port)});
  }
};

// The scheduler's own cost at 10k forwards (the sockets' is in
// tests/netns/probe_test.cc): apply them, probe each once, report.
TEST(ProbeSchedulerCostTest, TenThousandForwardsOneRound) {
  SyncProber prober;
  size_t verdicts = 0;
  absl::Time now = absl::FromUnixSeconds(1700000000);
  ProbeScheduler::Options options;
  options.rate = 1e9;  // the limits are not what is measured
  options.max_in_flight = 1 << 20;
  ProbeScheduler scheduler(
      &prober,
      [&](const ferry::v1::DataPathReport& report) {
        verdicts += report.verdicts_size();
        return true;
      },
      options, [&] { return now; });
  std::vector<ferry::v1::DnatRule> rules;
  for (int i = 0; i < 10000; ++i) rules.push_back(Rule(absl::StrCat("fwd-", i), 80));
  const ferry::v1::NodeConfig config = Config(rules);
  const absl::Time start = absl::Now();
  scheduler.Applied(config);
  const absl::Time applied = absl::Now();
  now += absl::Milliseconds(1);
  scheduler.RunOnce();  // starts all (answered at once)
  scheduler.RunOnce();  // reports them
  const absl::Time done = absl::Now();
  EXPECT_EQ(verdicts, 10000u);
  std::printf(
      "[ cost ] 10k forwards: apply %.1f ms, one round of probes and reports %.1f ms "
      "(scheduler only)\n",
      absl::ToDoubleMilliseconds(applied - start), absl::ToDoubleMilliseconds(done - applied));
}

TEST(ProbeSchedulerThreadTest, TheThreadProbesAndReportsUntilStopped) {
  SyncProber prober;
  absl::Mutex mu;
  std::vector<ferry::v1::DataPathReport> sent;
  ProbeScheduler scheduler(
      &prober,
      [&](const ferry::v1::DataPathReport& report) {
        absl::MutexLock lock(&mu);
        sent.push_back(report);
        return true;
      },
      ProbeScheduler::Options{});
  scheduler.Start();
  scheduler.Connected();
  scheduler.Applied(Config({Rule("web", 80)}));
  auto verdict_sent = [&] {
    mu.AssertHeld();
    for (const auto& r : sent) {
      if (r.verdicts_size() == 1 && r.verdicts(0).status() == "True") return true;
    }
    return false;
  };
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&verdict_sent), absl::Seconds(10)));
    ASSERT_FALSE(sent.empty());
    EXPECT_TRUE(sent.front().full());
  }
  scheduler.Stop();
}

}  // namespace
}  // namespace ferry::agent
