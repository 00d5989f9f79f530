// Spec: which controller replica the agent connects to next, given how the
// last stream ended; and --controller's list.

#include "node-agent/client/controller_targets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ferry::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseControllerTargetsTest, ASingleAddressIsAListOfOne) {
  EXPECT_THAT(*ParseControllerTargets("ctl:7443"), ElementsAre("ctl:7443"));
  EXPECT_THAT(*ParseControllerTargets("[2001:db8::1]:7443"), ElementsAre("[2001:db8::1]:7443"));
  EXPECT_THAT(*ParseControllerTargets("dns:///ctl:7443"), ElementsAre("dns:///ctl:7443"));
}

TEST(ParseControllerTargetsTest, AUnixSocketIsTakenWholeAsBefore) {
  EXPECT_THAT(*ParseControllerTargets("unix:/run/ferry,a.sock"),
              ElementsAre("unix:/run/ferry,a.sock"));
  EXPECT_THAT(ParseControllerTargets("unix:ferry.sock").status().message(),
              HasSubstr("--controller: \"unix:ferry.sock\" must name an absolute socket path"));
}

TEST(ParseControllerTargetsTest, EntriesKeepTheirOrder) {
  EXPECT_THAT(*ParseControllerTargets("c:7443,a:7443, b:7443"),
              ElementsAre("c:7443", "a:7443", "b:7443"));
}

TEST(ParseControllerTargetsTest, ABadEntryIsNamed) {
  EXPECT_EQ(ParseControllerTargets("a:7443,b:99999").status().message(),
            "--controller: \"b:99999\" must be host:port (port 1..65535) or unix:/path");
  EXPECT_THAT(ParseControllerTargets("a:7443,").status().message(),
              HasSubstr("--controller: \"a:7443,\" has an empty entry"));
  EXPECT_THAT(ParseControllerTargets("a:7443,unix:/run/f.sock").status().message(),
              HasSubstr("\"unix:/run/f.sock\" cannot be listed with other addresses"));
}

TEST(ControllerTargetsTest, TheFirstEntryIsTriedFirst) {
  ControllerTargets targets({"a:1", "b:1"});
  EXPECT_EQ(targets.current(), "a:1");
}

TEST(ControllerTargetsTest, ANamedLeaderIsFollowedAtOnceEvenOutsideTheList) {
  ControllerTargets targets({"a:1", "b:1"});
  const ControllerTargets::Move move = targets.Ended(false, "leader:1");
  EXPECT_EQ(move.from, "a:1");
  EXPECT_EQ(move.to, "leader:1");
  EXPECT_TRUE(move.redirect);
  EXPECT_FALSE(move.wait);
  EXPECT_EQ(targets.current(), "leader:1");
  EXPECT_FALSE(targets.Listed("leader:1"));
}

TEST(ControllerTargetsTest, WithoutALeaderTheNextEntryIsTriedAfterTheBackoff) {
  ControllerTargets targets({"a:1", "b:1", "c:1"});
  for (const char* next : {"b:1", "c:1", "a:1"}) {
    const ControllerTargets::Move move = targets.Ended(false, "");
    EXPECT_EQ(move.to, next);
    EXPECT_FALSE(move.redirect);
    EXPECT_TRUE(move.wait);
  }
}

TEST(ControllerTargetsTest, ASingleAddressIsRetriedAfterTheBackoffAsBefore) {
  ControllerTargets targets({"a:1"});
  const ControllerTargets::Move move = targets.Ended(true, "");
  EXPECT_EQ(move.to, "a:1");
  EXPECT_TRUE(move.wait);
}

TEST(ControllerTargetsTest, RoundRobinGoesOnAfterTheLeaderWhenItIsListed) {
  ControllerTargets targets({"a:1", "b:1", "c:1"});
  targets.Ended(false, "b:1");
  EXPECT_EQ(targets.Ended(true, "").to, "c:1");  // the leader went away
}

TEST(ControllerTargetsTest, RoundRobinGoesOnAfterTheFollowerWhenTheLeaderIsNotListed) {
  ControllerTargets targets({"a:1", "b:1"});
  targets.Ended(false, "leader:1");
  EXPECT_EQ(targets.Ended(false, "").to, "b:1");
}

// Two replicas that name each other: three hops at once, then the backoff.
TEST(ControllerTargetsTest, AfterThreeRedirectsInARowEachWaitsTheBackoff) {
  ControllerTargets targets({"a:1", "b:1"});
  const char* leaders[] = {"b:1", "a:1", "b:1", "a:1", "b:1"};
  std::vector<bool> waits;
  for (const char* leader : leaders) {
    const ControllerTargets::Move move = targets.Ended(false, leader);
    EXPECT_TRUE(move.redirect);
    EXPECT_EQ(move.to, leader);
    waits.push_back(move.wait);
  }
  EXPECT_THAT(waits, ElementsAre(false, false, false, true, true));
  static_assert(ControllerTargets::kMaxImmediateRedirects == 3);
}

TEST(ControllerTargetsTest, AStreamThatGotAMessageStartsTheRedirectCountAgain) {
  ControllerTargets targets({"a:1", "b:1"});
  for (int i = 0; i < ControllerTargets::kMaxImmediateRedirects; ++i) targets.Ended(false, "b:1");
  EXPECT_TRUE(targets.Ended(false, "b:1").wait);
  // The leader served a while, then stepped down and named its successor.
  EXPECT_FALSE(targets.Ended(true, "a:1").wait);
}

TEST(ControllerTargetsTest, ALeaderThatIsNotHostPortIsIgnored) {
  ControllerTargets targets({"a:1", "b:1"});
  for (const char* bad : {"leader", "leader:0", "unix:/run/ferry.sock"}) {
    const ControllerTargets::Move move = targets.Ended(false, bad);
    EXPECT_FALSE(move.redirect) << bad;
    EXPECT_TRUE(move.wait) << bad;
    EXPECT_THAT(move.ignored, HasSubstr("is not host:port")) << bad;
  }
}

TEST(ControllerTargetsTest, AUnixControllersLeaderIsNotFollowed) {
  ControllerTargets targets({"unix:/run/ferry.sock"});
  const ControllerTargets::Move move = targets.Ended(false, "10.0.0.1:7443");
  EXPECT_FALSE(move.redirect);
  EXPECT_EQ(move.to, "unix:/run/ferry.sock");
  EXPECT_FALSE(move.ignored.empty());
}

TEST(AskInOrderTest, TheFirstReplicaThatAnswersDecides) {
  std::vector<std::string> asked;
  auto call = [&asked](const std::string& target) -> absl::StatusOr<int> {
    asked.push_back(target);
    if (target == "a:1") return absl::UnavailableError("connection refused");
    if (target == "b:1") return absl::PermissionDeniedError("token used");
    return 7;
  };
  EXPECT_EQ(AskInOrder(std::vector<std::string>{"a:1", "b:1", "c:1"}, call).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(asked, ElementsAre("a:1", "b:1"));
  EXPECT_EQ(*AskInOrder(std::vector<std::string>{"a:1", "c:1"}, call), 7);
}

TEST(AskInOrderTest, WhenNoneIsReachedTheLastFailureIsReturned) {
  auto call = [](const std::string& target) -> absl::StatusOr<int> {
    return absl::DeadlineExceededError(target);
  };
  absl::StatusOr<int> result = AskInOrder(std::vector<std::string>{"a:1", "b:1"}, call);
  EXPECT_TRUE(IsUnreached(result.status()));
  EXPECT_EQ(result.status().message(), "b:1");
}

}  // namespace
}  // namespace ferry::agent
