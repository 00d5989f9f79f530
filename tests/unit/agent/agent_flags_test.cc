// Spec: ferry-agent's command line, with errors naming the flag.

#include "node-agent/cmd/agent_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "api/security/join_token.h"
#include "tests/unit/agent/scratch_dir.h"

namespace ferry::agent {
namespace {

using ::testing::ElementsAre;
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
  EXPECT_THAT(flags->controllers, ElementsAre("ctl:7443"));
  EXPECT_EQ(flags->tables.table_base, 7100u);
  EXPECT_EQ(flags->tables.table_count, 100u);
  EXPECT_EQ(flags->tables.rule_priority, 10000u);
  EXPECT_EQ(flags->log_level, LogLevel::kInfo);
  EXPECT_EQ(flags->state_dir, "/var/lib/ferry-agent");
  EXPECT_EQ(flags->max_config_entries, 1000000u);
  EXPECT_EQ(flags->join_token, "");
  EXPECT_EQ(flags->probe_rate, 200u);
}

TEST(AgentFlagsTest, ProbeRateIsParsedAndZeroTurnsProbingOff) {
  absl::StatusOr<AgentFlags> flags = Parse({"--probe-rate", "50"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->probe_rate, 50u);
  EXPECT_EQ(flags->probe_period, absl::Seconds(15));
  flags = Parse({"--probe-period", "5s"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->probe_period, absl::Seconds(5));
  EXPECT_THAT(Parse({"--probe-period", "100ms"}).status().message(), HasSubstr("--probe-period"));
  flags = Parse({"--probe-rate=0"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->probe_rate, 0u);
  EXPECT_THAT(Parse({"--probe-rate", "20000"}).status().message(),
              HasSubstr("--probe-rate: must be 0..10000, got 20000"));
  EXPECT_THAT(Parse({"--probe-rate", "-1"}).status().message(),
              HasSubstr("--probe-rate: \"-1\" is not a non-negative integer"));
  EXPECT_THAT(AgentUsage(), HasSubstr("--probe-rate N"));
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

TEST(AgentFlagsTest, ControllerTakesAListOfReplicasInOrder) {
  absl::StatusOr<AgentFlags> flags =
      ParseAgentFlags({"--node-name", "a", "--controller", "ctl-1:7443,10.0.0.2:7443, [::1]:7443"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_THAT(flags->controllers, ElementsAre("ctl-1:7443", "10.0.0.2:7443", "[::1]:7443"));
}

TEST(AgentFlagsTest, BadControllerEntryIsNamed) {
  EXPECT_EQ(ParseAgentFlags({"--node-name", "a", "--controller", "ctl-1:7443,ctl-2,ctl-3:7443"})
                .status()
                .message(),
            "--controller: \"ctl-2\" must be host:port (port 1..65535) or unix:/path");
  EXPECT_THAT(ParseAgentFlags({"--node-name", "a", "--controller", "ctl-1:7443,ctl-2:0"})
                  .status()
                  .message(),
              HasSubstr("--controller: \"ctl-2:0\" must be host:port"));
  EXPECT_THAT(ParseAgentFlags({"--node-name", "a", "--controller", "ctl-1:7443,,ctl-2:7443"})
                  .status()
                  .message(),
              HasSubstr("has an empty entry"));
  EXPECT_THAT(
      ParseAgentFlags({"--node-name", "a", "--controller", "ctl-1:7443,unix:/run/f.sock"})
          .status()
          .message(),
      HasSubstr("--controller: \"unix:/run/f.sock\" cannot be listed with other addresses"));
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

std::string Token() { return security::NewJoinToken(std::string(64, 'a'))->ToString(); }

TEST(AgentFlagsTest, SecurityFlagsAreParsed) {
  const std::string token = Token();
  absl::StatusOr<AgentFlags> flags =
      Parse({"--join-token", token, "--state-dir", "/srv/ferry", "--max-config-entries=5000"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->join_token, token);
  EXPECT_EQ(flags->state_dir, "/srv/ferry");
  EXPECT_EQ(flags->max_config_entries, 5000u);
}

TEST(AgentFlagsTest, JoinTokenFileIsReadWithoutItsTrailingNewline) {
  testing::ScratchDir dir;
  const std::string token = Token();
  testing::WriteAll(dir / "token", token + "\n");
  absl::StatusOr<AgentFlags> flags = Parse({"--join-token-file", dir / "token"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->join_token, token);
}

TEST(AgentFlagsTest, UnreadableJoinTokenFileIsNamed) {
  absl::StatusOr<AgentFlags> flags = Parse({"--join-token-file", "/nonexistent/token"});
  EXPECT_THAT(flags.status().message(),
              HasSubstr("--join-token-file: cannot read \"/nonexistent/token\""));
}

TEST(AgentFlagsTest, JoinTokenAndTokenFileTogetherAreRejected) {
  testing::ScratchDir dir;
  testing::WriteAll(dir / "token", Token());
  absl::StatusOr<AgentFlags> flags =
      Parse({"--join-token", Token(), "--join-token-file", dir / "token"});
  EXPECT_THAT(flags.status().message(), HasSubstr("--join-token-file: given twice"));
}

TEST(AgentFlagsTest, MalformedJoinTokenIsAUsageErrorThatDoesNotEchoIt) {
  absl::StatusOr<AgentFlags> flags = Parse({"--join-token", "ferry1.abc.s3cr3tvalue"});
  EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(flags.status().message(), HasSubstr("--join-token: join token: expected"));
  EXPECT_THAT(flags.status().message(), ::testing::Not(HasSubstr("s3cr3tvalue")));
}

TEST(AgentFlagsTest, ZeroMaxConfigEntriesIsRejected) {
  EXPECT_THAT(Parse({"--max-config-entries", "0"}).status().message(),
              HasSubstr("--max-config-entries: \"0\" is not an integer >= 1"));
}

TEST(AgentFlagsTest, RelativeStateDirIsRejected) {
  EXPECT_THAT(Parse({"--state-dir", "state"}).status().message(),
              HasSubstr("--state-dir: \"state\" must be an absolute path"));
}

TEST(AgentFlagsTest, UsageListsTheSecurityFlags) {
  for (const char* flag :
       {"--join-token ", "--join-token-file", "--state-dir", "--max-config-entries"}) {
    EXPECT_THAT(AgentUsage(), HasSubstr(flag));
  }
}

TEST(AgentFlagsTest, VersionAndHelpAnswerWhateverElseIsGiven) {
  absl::StatusOr<AgentFlags> flags = ParseAgentFlags({"--version"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_TRUE(flags->version);
  flags = ParseAgentFlags({"--bogus", "-h"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_TRUE(flags->help);
}

// The usage is made from AgentFlagHelp(), so this also checks that every
// flag in the usage is one the parser takes.
TEST(AgentFlagsTest, EveryFlagInTheUsageIsAcceptedAndDescribed) {
  testing::ScratchDir dir;
  std::ofstream(dir / "token") << Token() << "\n";
  std::ofstream(dir / "empty.yaml") << "# nothing\n";
  const std::map<std::string, std::string> values = {
      {"node-name", "node-b"},        {"controller", "unix:/run/ferry.sock"},
      {"config", dir / "empty.yaml"}, {"labels", "a=b"},
      {"join-token", Token()},        {"join-token-file", dir / "token"},
      {"state-dir", "/var/lib/x"},    {"max-config-entries", "10"},
      {"table-base", "7200"},         {"table-count", "10"},
      {"rule-priority", "9000"},      {"verify-interval", "10s"},
      {"sysctl-poll", "1s"},          {"probe-rate", "5"},
      {"probe-period", "2s"},         {"metrics-listen", "127.0.0.1:9101"},
      {"log-format", "json"},         {"v", "debug"},
  };
  for (const api::FlagHelp& flag : AgentFlagHelp()) {
    EXPECT_THAT(AgentUsage(), HasSubstr("  --" + flag.name));
    EXPECT_FALSE(flag.help.empty()) << flag.name;
    if (flag.name == "help" || flag.name == "version") continue;
    auto value = values.find(flag.name);
    ASSERT_NE(value, values.end()) << "no test value for --" << flag.name;
    absl::StatusOr<AgentFlags> parsed = Parse({"--" + flag.name, value->second});
    EXPECT_TRUE(parsed.ok()) << "--" << flag.name << ": " << parsed.status();
  }
}

TEST(AgentFlagsTest, LogFormatAndMetricsListenAreParsed) {
  absl::StatusOr<AgentFlags> flags = Parse({"--log-format=json", "--metrics-listen", "[::1]:9101"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->log_format, LogFormat::kJson);
  EXPECT_EQ(flags->metrics_listen, "[::1]:9101");
  EXPECT_THAT(Parse({"--log-format", "text"}).status().message(),
              HasSubstr("--log-format: must be logfmt or json, got \"text\""));
  EXPECT_THAT(Parse({"--metrics-listen", "0.0.0.0:9101"}).status().message(),
              HasSubstr("--metrics-listen: \"0.0.0.0:9101\" must be a loopback address"));
  EXPECT_THAT(Parse({"--metrics-listen", "127.0.0.1"}).status().message(),
              HasSubstr("--metrics-listen: \"127.0.0.1\" must be host:port"));
  EXPECT_THAT(Parse({"--metrics-listen", "127.0.0.1:99999"}).status().message(),
              HasSubstr("--metrics-listen: \"127.0.0.1:99999\" must be host:port"));
  for (const char* loopback : {"127.0.0.1:9101", "127.1.2.3:0", "localhost:9101"}) {
    EXPECT_TRUE(Parse({"--metrics-listen", loopback}).ok()) << loopback;
  }
}

TEST(AgentFlagsTest, ConfigFileSetsFlagsAndTheCommandLineOverridesIt) {
  testing::ScratchDir dir;
  std::ofstream(dir / "agent.yaml") << "node-name: node-b\n"
                                       "controller: unix:/run/ferry/ferry.sock\n"
                                       "labels: {zone: eu, role: edge}\n"
                                       "probe-rate: 50\n"
                                       "v: debug\n";
  absl::StatusOr<AgentFlags> flags =
      ParseAgentFlags({"--config", dir / "agent.yaml", "--probe-rate", "7"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->node_name, "node-b");
  EXPECT_THAT(flags->controllers, ElementsAre("unix:/run/ferry/ferry.sock"));
  EXPECT_EQ(flags->labels.at("zone"), "eu");
  EXPECT_EQ(flags->labels.at("role"), "edge");
  EXPECT_EQ(flags->log_level, LogLevel::kDebug);
  EXPECT_EQ(flags->probe_rate, 7u);  // the command line wins
}

TEST(AgentFlagsTest, ConfigFileErrorsNameTheFileLineAndKey) {
  testing::ScratchDir dir;
  std::ofstream(dir / "agent.yaml") << "node-name: node-b\nnode-nmae: x\n";
  EXPECT_THAT(Parse({"--config", dir / "agent.yaml"}).status().message(),
              HasSubstr(dir / "agent.yaml" + ":2: unknown key \"node-nmae\""));
  std::ofstream(dir / "bad.yaml") << "probe-rate: lots\n";
  EXPECT_THAT(Parse({"--config", dir / "bad.yaml"}).status().message(),
              HasSubstr("--probe-rate: \"lots\" is not a non-negative integer"));
}

}  // namespace
}  // namespace ferry::agent
