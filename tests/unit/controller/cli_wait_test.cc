// `ferryctl wait` against an in-process fake ResourceService.

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "controller/cli/runner.h"
#include "controller/cli/wait.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/cli_fake_resource_service.h"

namespace ferry::cli {
namespace {

using ferry::v1::WatchEvent;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

ferry::v1::Object Forward(const std::string& name, const std::string& ready,
                          const std::string& resource_version) {
  ferry::v1::Object object;
  ferry::v1::IPForward* f = object.mutable_ip_forward();
  f->mutable_metadata()->set_name(name);
  f->mutable_metadata()->set_generation(2);
  f->mutable_metadata()->set_resource_version(resource_version);
  ferry::v1::Condition* accepted = f->mutable_status()->add_conditions();
  accepted->set_type("Accepted");
  accepted->set_status("True");
  accepted->set_observed_generation(2);
  ferry::v1::Condition* c = f->mutable_status()->add_conditions();
  c->set_type("Ready");
  c->set_status(ready);
  c->set_observed_generation(2);
  return object;
}

class CliWaitTest : public ::testing::Test {
 protected:
  CliWaitTest() : client_(fake_.channel(), "in-process", absl::Seconds(5)) {}

  int Run(std::vector<std::string> args) {
    absl::StatusOr<Command> command = ParseCommandLine(args, "");
    EXPECT_TRUE(command.ok()) << command.status();
    if (!command.ok()) return -1;
    std::istringstream in;
    return RunCommand(*command, client_, {in, out_, err_});
  }
  std::vector<std::string> OutLines() const {
    return absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
  }

  testing::FakeServer fake_;
  ResourceClient client_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CliWaitTest, ConditionAlreadyTrueSucceedsWithoutWatching) {
  fake_.service().Put(Forward("web", "True", "5"));
  EXPECT_EQ(Run({"wait", "forward/web", "--for=condition=Ready"}), kExitOk) << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/web condition met"));
  EXPECT_THAT(fake_.service().watch_requests(), IsEmpty());
}

TEST_F(CliWaitTest, ConditionBecomingTrueInAWatchEventSucceeds) {
  fake_.service().Put(Forward("web", "False", "5"));
  fake_.service().AddWatchEvent(WatchEvent::MODIFIED, Forward("web", "True", "6"), "6");
  EXPECT_EQ(Run({"wait", "forward/web", "--for=condition=Ready", "--timeout=10s"}), kExitOk)
      << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/web condition met"));
  ASSERT_EQ(fake_.service().watch_requests().size(), 1u);
  EXPECT_EQ(fake_.service().watch_requests()[0].resource_version(), "5");
  EXPECT_EQ(fake_.service().watch_requests()[0].kind(), ferry::v1::IP_FORWARD);
}

TEST_F(CliWaitTest, TimesOutWhenTheConditionNeverHolds) {
  fake_.service().Put(Forward("web", "False", "5"));
  fake_.service().AddWatchEvent(WatchEvent::MODIFIED, Forward("other", "True", "6"), "6");
  EXPECT_EQ(Run({"wait", "forward/web", "--for=condition=Ready", "--timeout=200ms"}), kExitFailure);
  EXPECT_EQ(err_.str(), "error: timed out waiting for ipforward/web: Ready=False\n");
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(CliWaitTest, EventsOlderThanTheReadStateAreIgnored) {
  fake_.service().Put(Forward("web", "False", "9"));
  fake_.service().AddWatchEvent(WatchEvent::MODIFIED, Forward("web", "True", "7"), "7");
  EXPECT_EQ(Run({"wait", "forward/web", "--for=condition=Ready", "--timeout=200ms"}), kExitFailure);
  EXPECT_EQ(err_.str(), "error: timed out waiting for ipforward/web: Ready=False\n");
}

TEST_F(CliWaitTest, WaitsForOtherConditionsAndStatuses) {
  fake_.service().Put(Forward("web", "False", "5"));
  EXPECT_EQ(Run({"wait", "forward/web", "--for=condition=ready=false"}), kExitOk) << err_.str();
  EXPECT_EQ(Run({"wait", "forward/web", "--for=condition=Accepted"}), kExitOk) << err_.str();
}

TEST_F(CliWaitTest, WaitForAllNeedsEveryForward) {
  fake_.service().Put(Forward("a", "True", "4"));
  fake_.service().Put(Forward("b", "False", "5"));
  fake_.service().AddWatchEvent(WatchEvent::MODIFIED, Forward("b", "True", "8"), "8");
  EXPECT_EQ(Run({"wait", "forwards", "--all", "--for=condition=Ready", "--timeout=10s"}), kExitOk)
      << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/a condition met", "ipforward/b condition met"));
}

TEST_F(CliWaitTest, WaitForAllWatchesFromTheRevisionTheListIsAt) {
  fake_.service().Put(Forward("a", "True", "4"));
  fake_.service().Put(Forward("b", "False", "5"));
  fake_.service().SetListRevision("12");
  fake_.service().AddWatchEvent(WatchEvent::MODIFIED, Forward("b", "True", "13"), "13");
  EXPECT_EQ(Run({"wait", "forwards", "--all", "--for=condition=Ready", "--timeout=10s"}), kExitOk)
      << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/a condition met", "ipforward/b condition met"));
  // Not from b's revision 5: the list already holds everything up to 12.
  ASSERT_EQ(fake_.service().watch_requests().size(), 1u);
  EXPECT_EQ(fake_.service().watch_requests()[0].resource_version(), "12");
}

TEST_F(CliWaitTest, WaitForAllWithNoForwardsFails) {
  EXPECT_EQ(Run({"wait", "forwards", "--all", "--for=condition=Ready"}), kExitFailure);
  EXPECT_EQ(err_.str(), "error: no matching resources found\n");
}

TEST_F(CliWaitTest, WaitForDeleteSucceedsOnDeletedEvent) {
  fake_.service().Put(Forward("web", "True", "5"));
  fake_.service().AddWatchEvent(WatchEvent::DELETED, Forward("web", "True", "5"), "6");
  EXPECT_EQ(Run({"wait", "forward/web", "--for=delete", "--timeout=10s"}), kExitOk) << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/web condition met"));
}

TEST_F(CliWaitTest, WaitForDeleteOfAbsentObjectSucceedsAtOnce) {
  EXPECT_EQ(Run({"wait", "forward/web", "--for=delete"}), kExitOk) << err_.str();
  EXPECT_THAT(fake_.service().watch_requests(), IsEmpty());
}

TEST_F(CliWaitTest, WaitForConditionOfAbsentObjectFails) {
  EXPECT_EQ(Run({"wait", "forward/web", "--for=condition=Ready"}), kExitFailure);
  EXPECT_EQ(err_.str(), "error: ipforward \"web\" not found\n");
}

TEST(CliConditionMetTest, StaleGenerationDoesNotCount) {
  ferry::v1::Object object = Forward("web", "True", "5");
  object.mutable_ip_forward()->mutable_metadata()->set_generation(3);
  WaitCondition wait;
  wait.condition_type = "Ready";
  EXPECT_FALSE(ConditionMet(object, wait));
  object.mutable_ip_forward()->mutable_metadata()->set_generation(2);
  EXPECT_TRUE(ConditionMet(object, wait));
}

}  // namespace
}  // namespace ferry::cli
