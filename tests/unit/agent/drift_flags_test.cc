// Spec: the drift detection flags take durations and name themselves in errors.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "node-agent/cmd/agent_flags.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<AgentFlags> ParseWith(std::vector<std::string> extra) {
  std::vector<std::string> args = {"--node-name", "node-a", "--controller", "127.0.0.1:7443"};
  args.insert(args.end(), extra.begin(), extra.end());
  return ParseAgentFlags(args);
}

TEST(DriftFlagsTest, DefaultsAreThirtySecondsAndNoSysctlPoll) {
  absl::StatusOr<AgentFlags> flags = ParseWith({});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->verify_interval, absl::Seconds(30));
  EXPECT_EQ(flags->sysctl_poll, absl::ZeroDuration());
}

TEST(DriftFlagsTest, SysctlPollCanBeTurnedOffExplicitly) {
  for (const char* off : {"0", "off"}) {
    absl::StatusOr<AgentFlags> flags = ParseWith({"--sysctl-poll", off});
    ASSERT_TRUE(flags.ok()) << flags.status();
    EXPECT_EQ(flags->sysctl_poll, absl::ZeroDuration()) << off;
  }
}

TEST(DriftFlagsTest, DurationsAreParsed) {
  absl::StatusOr<AgentFlags> flags = ParseWith({"--verify-interval=500ms", "--sysctl-poll", "1s"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->verify_interval, absl::Milliseconds(500));
  EXPECT_EQ(flags->sysctl_poll, absl::Seconds(1));
}

TEST(DriftFlagsTest, BadDurationIsNamed) {
  absl::StatusOr<AgentFlags> flags = ParseWith({"--verify-interval=often"});
  EXPECT_THAT(flags.status().message(), HasSubstr("--verify-interval"));
  EXPECT_THAT(flags.status().message(), HasSubstr("30s"));
}

TEST(DriftFlagsTest, TooShortIntervalIsRejected) {
  absl::StatusOr<AgentFlags> flags = ParseWith({"--verify-interval=1ms"});
  EXPECT_THAT(flags.status().message(), HasSubstr("at least 100ms"));
}

}  // namespace
}  // namespace ferry::agent
