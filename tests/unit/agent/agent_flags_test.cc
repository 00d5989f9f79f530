// Spec: ferry-agent's command line, with errors naming the flag.

#include "node-agent/client/agent_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<AgentFlags> Parse(std::vector<std::string> extra) {
  std::vector<std::string> args = {"--node-name", "node-a", "--controller", "ctl:7443"};
  args.insert(args.end(), extra.begin(), extra.end());
  return ParseAgentFlags(args);
}

TEST(AgentFlagsTest, DefaultsMatchTheDocumentedValues) {
  absl::StatusOr<AgentFlags> flags = Parse({});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->node_name, "node-a");
  EXPECT_EQ(flags->controller, "ctl:7443");
  EXPECT_EQ(flags->tables.table_base, 7100u);
  EXPECT_EQ(flags->tables.table_count, 100u);
  EXPECT_EQ(flags->tables.rule_priority, 10000u);
  EXPECT_EQ(flags->log_level, LogLevel::kInfo);
}

TEST(AgentFlagsTest, EqualsFormAndLabelsAreParsed) {
  absl::StatusOr<AgentFlags> flags = Parse({"--labels=zone=eu,role=edge", "--v=debug"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->labels.at("zone"), "eu");
  EXPECT_EQ(flags->labels.at("role"), "edge");
  EXPECT_EQ(flags->log_level, LogLevel::kDebug);
}

TEST(AgentFlagsTest, MissingNodeNameIsNamed) {
  absl::StatusOr<AgentFlags> flags = ParseAgentFlags({"--controller", "ctl:7443"});
  EXPECT_THAT(flags.status().message(), HasSubstr("--node-name"));
}

TEST(AgentFlagsTest, MissingControllerIsNamed) {
  absl::StatusOr<AgentFlags> flags = ParseAgentFlags({"--node-name", "a"});
  EXPECT_THAT(flags.status().message(), HasSubstr("--controller"));
}

TEST(AgentFlagsTest, TableRangeOverlappingKernelTablesIsRejected) {
  absl::StatusOr<AgentFlags> flags = Parse({"--table-base", "250", "--table-count", "10"});
  EXPECT_THAT(flags.status().message(), HasSubstr("--table-base"));
}

TEST(AgentFlagsTest, RulePriorityAfterMainTableIsRejected) {
  absl::StatusOr<AgentFlags> flags = Parse({"--rule-priority", "32766"});
  EXPECT_THAT(flags.status().message(), HasSubstr("--rule-priority"));
}

TEST(AgentFlagsTest, UnknownFlagIsRejected) {
  EXPECT_THAT(Parse({"--colour", "red"}).status().message(), HasSubstr("--colour"));
}

TEST(AgentFlagsTest, FlagWithoutValueIsRejected) {
  EXPECT_THAT(Parse({"--table-base"}).status().message(), HasSubstr("needs a value"));
}

}  // namespace
}  // namespace ferry::agent
