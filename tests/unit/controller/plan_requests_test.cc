// Spec: PlanRequests asks each node's attached agent stream and hands every
// answer to the call waiting for it, by nonce; what is not answered in
// time, or cannot be asked, is an error for that node alone.

#include "controller/fleet/plan_requests.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// An agent stream that keeps what it is sent.
class RecordingPlanSink : public PlanSink {
 public:
  bool SendPlan(ferry::v1::ControllerMessage message) override {
    absl::MutexLock lock(&mu_);
    if (refuse) return false;
    sent_.push_back(message.plan());
    return true;
  }
  // Waits (bounded) until `n` requests were sent; the n-th.
  ferry::v1::PlanRequest WaitForRequest(size_t n = 1) {
    absl::MutexLock lock(&mu_);
    auto sent = [this, n]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return sent_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&sent), absl::Seconds(10));
    return sent_.size() >= n ? sent_[n - 1] : ferry::v1::PlanRequest();
  }
  size_t sent() {
    absl::MutexLock lock(&mu_);
    return sent_.size();
  }
  bool refuse = false;

 private:
  absl::Mutex mu_;
  std::vector<ferry::v1::PlanRequest> sent_ ABSL_GUARDED_BY(mu_);
};

ferry::v1::PlanResult Result(const std::string& nonce, std::vector<std::string> lines,
                             const std::string& error = "") {
  ferry::v1::PlanResult result;
  result.set_nonce(nonce);
  for (std::string& line : lines) result.add_lines(std::move(line));
  result.set_error(error);
  return result;
}

ferry::v1::NodeConfig Config(const std::string& version) {
  ferry::v1::NodeConfig config;
  config.set_version(version);
  return config;
}

class PlanRequestsTest : public ::testing::Test {
 protected:
  // Asks on a thread of its own, as a Diff call does.
  void AskInBackground(std::map<std::string, ferry::v1::NodeConfig> configs,
                       absl::Duration wait = absl::Seconds(10)) {
    asker_ = std::thread([this, configs = std::move(configs), wait] {
      answers_ = plans_.Ask(configs, absl::Now() + wait);
    });
  }
  PlanRequests::Answers Join() {
    asker_.join();
    return std::move(answers_);
  }

  PlanRequests plans_;
  RecordingPlanSink a_, b_;
  std::thread asker_;
  PlanRequests::Answers answers_;
};

TEST_F(PlanRequestsTest, EachNodeIsAskedItsOwnConfigAndItsAnswerReachesTheCaller) {
  plans_.Attach("node-a", &a_);
  plans_.Attach("node-b", &b_);
  AskInBackground({{"node-a", Config("va")}, {"node-b", Config("vb")}});
  const ferry::v1::PlanRequest to_a = a_.WaitForRequest();
  const ferry::v1::PlanRequest to_b = b_.WaitForRequest();
  EXPECT_EQ(to_a.config().version(), "va");
  EXPECT_EQ(to_b.config().version(), "vb");
  EXPECT_NE(to_a.nonce(), to_b.nonce());
  EXPECT_TRUE(plans_.Answer("node-b", Result(to_b.nonce(), {}, "reading nftables: denied")));
  EXPECT_TRUE(plans_.Answer("node-a", Result(to_a.nonce(), {"+ table inet ferry"})));
  PlanRequests::Answers answers = Join();
  ASSERT_TRUE(answers.at("node-a").ok());
  EXPECT_THAT(*answers.at("node-a"), ElementsAre("+ table inet ferry"));
  EXPECT_THAT(answers.at("node-b").status().message(), HasSubstr("reading nftables: denied"));
}

TEST_F(PlanRequestsTest, AnAnswerFromAnotherNodeOrForNoRequestIsIgnored) {
  plans_.Attach("node-a", &a_);
  plans_.Attach("node-b", &b_);
  AskInBackground({{"node-a", Config("va")}}, absl::Milliseconds(300));
  const ferry::v1::PlanRequest to_a = a_.WaitForRequest();
  EXPECT_FALSE(plans_.Answer("node-b", Result(to_a.nonce(), {"+ forged"})));
  EXPECT_FALSE(plans_.Answer("node-a", Result("diff-999", {"+ stale"})));
  PlanRequests::Answers answers = Join();
  EXPECT_EQ(answers.at("node-a").status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(answers.at("node-a").status().message(), HasSubstr("did not answer within"));
  // Forgotten on return: a late answer is ignored too.
  EXPECT_FALSE(plans_.Answer("node-a", Result(to_a.nonce(), {"+ late"})));
}

TEST_F(PlanRequestsTest, ANodeWithoutAStreamIsNotConnectedAndTheOthersAreStillAsked) {
  plans_.Attach("node-a", &a_);
  AskInBackground({{"node-a", Config("va")}, {"node-c", Config("vc")}});
  plans_.Answer("node-a", Result(a_.WaitForRequest().nonce(), {}));
  PlanRequests::Answers answers = Join();
  EXPECT_TRUE(answers.at("node-a").ok());
  EXPECT_EQ(answers.at("node-c").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(answers.at("node-c").status().message(), HasSubstr("not connected"));
}

TEST_F(PlanRequestsTest, AStreamThatEndsFailsItsRequestsAtOnce) {
  plans_.Attach("node-a", &a_);
  AskInBackground({{"node-a", Config("va")}}, absl::Seconds(30));
  a_.WaitForRequest();
  const absl::Time detached = absl::Now();
  plans_.Detach("node-a", &a_);
  PlanRequests::Answers answers = Join();
  EXPECT_LT(absl::Now() - detached, absl::Seconds(5));
  EXPECT_THAT(answers.at("node-a").status().message(), HasSubstr("disconnected"));
}

TEST_F(PlanRequestsTest, TheNewestStreamOfANodeIsAskedAndAnEndingOneIsSkipped) {
  plans_.Attach("node-a", &a_);
  plans_.Attach("node-a", &b_);  // a reconnect: the old one is still ending
  AskInBackground({{"node-a", Config("v1")}});
  plans_.Answer("node-a", Result(b_.WaitForRequest().nonce(), {"+ from b"}));
  EXPECT_THAT(*Join().at("node-a"), ElementsAre("+ from b"));
  EXPECT_EQ(a_.sent(), 0u);

  b_.refuse = true;  // finishing
  AskInBackground({{"node-a", Config("v2")}});
  plans_.Answer("node-a", Result(a_.WaitForRequest().nonce(), {"+ from a"}));
  EXPECT_THAT(*Join().at("node-a"), ElementsAre("+ from a"));
}

TEST_F(PlanRequestsTest, MoreThanSixteenUnansweredRequestsForOneNodeAreRefused) {
  plans_.Attach("node-a", &a_);
  std::vector<std::thread> askers;
  std::vector<PlanRequests::Answers> answers(PlanRequests::kMaxOutstandingPerNode);
  for (int i = 0; i < PlanRequests::kMaxOutstandingPerNode; ++i) {
    askers.emplace_back([&, i] {
      answers[i] = plans_.Ask({{"node-a", Config("v")}}, absl::Now() + absl::Seconds(10));
    });
  }
  a_.WaitForRequest(PlanRequests::kMaxOutstandingPerNode);
  PlanRequests::Answers refused =
      plans_.Ask({{"node-a", Config("v")}}, absl::Now() + absl::Seconds(10));
  EXPECT_EQ(refused.at("node-a").status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.at("node-a").status().message(), HasSubstr("too many diffs in flight"));
  for (size_t n = 1; n <= PlanRequests::kMaxOutstandingPerNode; ++n) {
    plans_.Answer("node-a", Result(a_.WaitForRequest(n).nonce(), {}));
  }
  for (std::thread& t : askers) t.join();
  for (const PlanRequests::Answers& a : answers) EXPECT_TRUE(a.at("node-a").ok());
}

TEST_F(PlanRequestsTest, ACancelledCallStopsWaiting) {
  plans_.Attach("node-a", &a_);
  std::atomic<bool> cancelled{false};
  std::thread asker([&] {
    answers_ = plans_.Ask({{"node-a", Config("v")}}, absl::Now() + absl::Seconds(30),
                          [&cancelled] { return cancelled.load(); });
  });
  a_.WaitForRequest();
  cancelled = true;
  asker.join();
  EXPECT_EQ(answers_.at("node-a").status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace ferry::controller
