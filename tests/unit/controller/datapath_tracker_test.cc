#include "controller/fleet/datapath_tracker.h"

#include <string>

#include "absl/time/time.h"
#include "api/observability/metrics.h"
#include "controller/fleet/fleet_metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

ferry::v1::DataPathVerdict Verdict(const std::string& forward, const std::string& status,
                                   int64_t generation, const std::string& message = "") {
  ferry::v1::DataPathVerdict v;
  v.set_forward(forward);
  v.set_status(status);
  v.set_generation(generation);
  v.set_reason(status == "True" ? "Verified" : status == "False" ? "ProbeFailed" : "Unproven");
  v.set_message(message);
  return v;
}

ferry::v1::DataPathReport Report(std::initializer_list<ferry::v1::DataPathVerdict> verdicts,
                                 bool full = false) {
  ferry::v1::DataPathReport r;
  for (const auto& v : verdicts) *r.add_verdicts() = v;
  r.set_full(full);
  return r;
}

class DataPathTrackerTest : public ::testing::Test {
 protected:
  observability::Registry registry_;
  FleetMetrics metrics_{&registry_};
  DataPathTracker tracker_;
};

TEST_F(DataPathTrackerTest, FailureRaisesAWarningAndTheGaugeFollows) {
  DataPathTracker::News first =
      tracker_.OnReport("node-a", Report({Verdict("web", "True", 1)}), kNow, &metrics_);
  EXPECT_THAT(first.forwards, ElementsAre("web"));
  EXPECT_THAT(first.events, IsEmpty());  // passing from the start is no news
  EXPECT_THAT(registry_.Render(),
              HasSubstr("ferry_datapath_verified{forward=\"web\",node=\"node-a\"} 1\n"));

  DataPathTracker::News failed = tracker_.OnReport(
      "node-a", Report({Verdict("web", "False", 1, "no SYN-ACK from 10.77.0.2:8080")}), kNow,
      &metrics_);
  EXPECT_THAT(failed.failed, ElementsAre("web"));
  ASSERT_EQ(failed.events.size(), 1u);
  EXPECT_EQ(failed.events[0].reason, kEventDataPathFailed);
  EXPECT_EQ(failed.events[0].type, kEventTypeWarning);
  EXPECT_EQ(failed.events[0].involved_name, "web");
  EXPECT_EQ(failed.events[0].node, "node-a");
  EXPECT_THAT(failed.events[0].message, HasSubstr("no SYN-ACK from 10.77.0.2:8080"));
  EXPECT_THAT(registry_.Render(),
              HasSubstr("ferry_datapath_verified{forward=\"web\",node=\"node-a\"} 0\n"));
  std::optional<DataPathVerdict> v = tracker_.VerdictOf("web", "node-a");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->status, DataPathVerdict::Status::kFalse);
  EXPECT_EQ(v->message, "no SYN-ACK from 10.77.0.2:8080");

  // The same failure again is not news.
  DataPathTracker::News again = tracker_.OnReport(
      "node-a", Report({Verdict("web", "False", 1, "no SYN-ACK from 10.77.0.2:8080")}), kNow,
      &metrics_);
  EXPECT_THAT(again.events, IsEmpty());
  EXPECT_THAT(again.forwards, IsEmpty());

  DataPathTracker::News restored =
      tracker_.OnReport("node-a", Report({Verdict("web", "True", 1)}), kNow, &metrics_);
  ASSERT_EQ(restored.events.size(), 1u);
  EXPECT_EQ(restored.events[0].reason, kEventDataPathRestored);
  EXPECT_EQ(restored.events[0].type, kEventTypeNormal);
  EXPECT_THAT(restored.failed, IsEmpty());
}

TEST_F(DataPathTrackerTest, UnknownHasNoSeriesAndANewGenerationIsNews) {
  tracker_.OnReport("node-a", Report({Verdict("dns", "Unknown", 1, "no reply")}), kNow, &metrics_);
  EXPECT_THAT(registry_.Render(), Not(HasSubstr("forward=\"dns\"")));
  DataPathTracker::News next = tracker_.OnReport(
      "node-a", Report({Verdict("dns", "Unknown", 2, "no reply")}), kNow, &metrics_);
  EXPECT_THAT(next.forwards, ElementsAre("dns"));
  EXPECT_EQ(tracker_.VerdictOf("dns", "node-a")->generation, 2);
}

TEST_F(DataPathTrackerTest, VerdictsAreKeptPerNode) {
  tracker_.OnReport("node-a", Report({Verdict("web", "True", 1)}), kNow, &metrics_);
  tracker_.OnReport("node-c", Report({Verdict("web", "False", 1, "refused")}), kNow, &metrics_);
  EXPECT_EQ(tracker_.VerdictOf("web", "node-a")->status, DataPathVerdict::Status::kTrue);
  EXPECT_EQ(tracker_.VerdictOf("web", "node-c")->status, DataPathVerdict::Status::kFalse);
  EXPECT_FALSE(tracker_.VerdictOf("web", "node-b").has_value());
  EXPECT_FALSE(tracker_.VerdictOf("other", "node-a").has_value());
}

TEST_F(DataPathTrackerTest, AFullReportDropsTheForwardsItLeavesOut) {
  tracker_.OnReport("node-a", Report({Verdict("web", "True", 1), Verdict("api", "False", 1, "x")}),
                    kNow, &metrics_);
  tracker_.OnReport("node-c", Report({Verdict("api", "True", 1)}), kNow, &metrics_);
  DataPathTracker::News full = tracker_.OnReport(
      "node-a", Report({Verdict("web", "True", 1)}, /*full=*/true), kNow, &metrics_);
  EXPECT_THAT(full.forwards, ElementsAre("api"));
  EXPECT_FALSE(tracker_.VerdictOf("api", "node-a").has_value());
  EXPECT_TRUE(tracker_.VerdictOf("api", "node-c").has_value());  // another node's stays
  EXPECT_TRUE(tracker_.VerdictOf("web", "node-a").has_value());
  EXPECT_THAT(registry_.Render(),
              Not(HasSubstr("ferry_datapath_verified{forward=\"api\",node=\"node-a\"}")));
}

TEST_F(DataPathTrackerTest, AFullReportInPartsDropsOnlyWhatNoPartNamed) {
  tracker_.OnReport(
      "node-a",
      Report({Verdict("a", "False", 1, "x"), Verdict("b", "True", 1), Verdict("c", "True", 1)}),
      kNow, &metrics_);
  ferry::v1::DataPathReport first = Report({Verdict("a", "False", 1, "x")}, /*full=*/true);
  first.set_more(true);
  DataPathTracker::News news = tracker_.OnReport("node-a", first, kNow, &metrics_);
  EXPECT_THAT(news.forwards, IsEmpty());  // nothing dropped before the last part
  EXPECT_THAT(news.events, IsEmpty());    // and a standing failure is no news
  news = tracker_.OnReport("node-a", Report({Verdict("b", "True", 1)}, /*full=*/true), kNow,
                           &metrics_);
  EXPECT_THAT(news.forwards, ElementsAre("c"));
  EXPECT_TRUE(tracker_.VerdictOf("a", "node-a").has_value());
  EXPECT_TRUE(tracker_.VerdictOf("b", "node-a").has_value());
  EXPECT_FALSE(tracker_.VerdictOf("c", "node-a").has_value());
}

TEST_F(DataPathTrackerTest, ForgetDropsTheForwardEverywhere) {
  tracker_.OnReport("node-a", Report({Verdict("web", "True", 1)}), kNow, &metrics_);
  tracker_.OnReport("node-c", Report({Verdict("web", "False", 1, "x")}), kNow, &metrics_);
  tracker_.Forget("web", &metrics_);
  EXPECT_FALSE(tracker_.VerdictOf("web", "node-a").has_value());
  EXPECT_FALSE(tracker_.VerdictOf("web", "node-c").has_value());
  EXPECT_THAT(registry_.Render(), Not(HasSubstr("forward=\"web\"")));
}

TEST_F(DataPathTrackerTest, VerdictsAreAddedToTheFrontendsAcksOnly) {
  tracker_.OnReport("node-a", Report({Verdict("web", "False", 3, "refused")}), kNow, &metrics_);
  tracker_.OnReport("node-b", Report({Verdict("web", "True", 3)}), kNow, &metrics_);
  std::map<std::string, NodeAckInfo> acks;
  acks["node-b"].acked_generation = 3;
  tracker_.AddVerdictsTo(
      "web", {{"node-a", kRoleFrontend}, {"node-b", kRoleBackend}, {"node-c", kRoleFrontend}},
      &acks);
  ASSERT_TRUE(acks["node-a"].data_path.has_value());
  EXPECT_EQ(acks["node-a"].data_path->status, DataPathVerdict::Status::kFalse);
  EXPECT_EQ(acks["node-a"].data_path->message, "refused");
  EXPECT_FALSE(acks["node-b"].data_path.has_value());  // a backend's is not read
  EXPECT_EQ(acks["node-b"].acked_generation, 3);       // and its ACK is kept
  EXPECT_FALSE(acks.contains("node-c"));               // no verdict, no entry
}

TEST_F(DataPathTrackerTest, MalformedVerdictsAreSkipped) {
  DataPathTracker::News news = tracker_.OnReport(
      "node-a", Report({Verdict("", "True", 1), Verdict("web", "Maybe", 1)}), kNow, &metrics_);
  EXPECT_THAT(news.forwards, IsEmpty());
  EXPECT_FALSE(tracker_.VerdictOf("web", "node-a").has_value());
}

}  // namespace
}  // namespace ferry::controller
