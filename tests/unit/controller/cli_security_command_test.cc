// Parsing of ferryctl's token and credentials verbs, --config and --ttl:
// no server needed.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "controller/cli/command.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

absl::StatusOr<Command> Parse(std::vector<std::string> args, absl::string_view env = "") {
  return ParseCommandLine(args, env);
}

void ExpectUsageError(std::vector<std::string> args, absl::string_view part) {
  absl::StatusOr<Command> command = Parse(args);
  ASSERT_FALSE(command.ok()) << "accepted: " << testing::PrintToString(args);
  EXPECT_EQ(command.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(command.status().message()), HasSubstr(std::string(part)));
}

TEST(CliSecurityCommandTest, TokenCreateTakesNodeAndTtl) {
  absl::StatusOr<Command> c = Parse({"token", "create", "--node", "node-b", "--ttl", "2h"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->verb, Verb::kTokenCreate);
  EXPECT_TRUE(IsSecurityVerb(c->verb));
  EXPECT_EQ(c->node_name, "node-b");
  EXPECT_EQ(c->ttl, absl::Hours(2));
}

TEST(CliSecurityCommandTest, TokenCreateWithoutTtlLeavesTheServerDefault) {
  absl::StatusOr<Command> c = Parse({"token", "create", "--node=node-b"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ttl, absl::ZeroDuration());
}

TEST(CliSecurityCommandTest, TokenCreateWithoutNodeIsUsageError) {
  ExpectUsageError({"token", "create"}, "token create needs --node NAME");
}

TEST(CliSecurityCommandTest, TokenCreateWithPositionalIsUsageError) {
  ExpectUsageError({"token", "create", "node-b"}, "takes no arguments, got \"node-b\" (use --node");
}

TEST(CliSecurityCommandTest, TokenWithoutSubcommandIsUsageError) {
  ExpectUsageError({"token"}, "token needs a subcommand: create");
}

TEST(CliSecurityCommandTest, UnknownSubcommandNamesWhatExists) {
  ExpectUsageError({"token", "list"}, "unknown command \"token list\" (token takes create)");
  ExpectUsageError({"credentials", "rotate", "bob"},
                   "unknown command \"credentials rotate\" (credentials takes create or revoke)");
}

TEST(CliSecurityCommandTest, TokenHelpShowsHelp) {
  absl::StatusOr<Command> c = Parse({"token", "--help"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->verb, Verb::kHelp);
}

TEST(CliSecurityCommandTest, FlagOfAnotherVerbIsUsageError) {
  ExpectUsageError({"token", "create", "--node", "a", "--role", "admin"},
                   "unknown flag \"--role\" for \"token create\"");
  ExpectUsageError({"get", "nodes", "--ttl", "1h"}, "unknown flag \"--ttl\" for \"get\"");
}

TEST(CliSecurityCommandTest, TtlAcceptsDaysAndGoDurations) {
  const std::pair<const char*, absl::Duration> cases[] = {
      {"90d", absl::Hours(24 * 90)}, {"1d12h", absl::Hours(36)}, {"30m", absl::Minutes(30)},
      {"1h30m", absl::Minutes(90)},  {"0d1s", absl::Seconds(1)},
  };
  for (const auto& [text, want] : cases) {
    absl::StatusOr<Command> c = Parse({"token", "create", "--node", "a", "--ttl", text});
    ASSERT_TRUE(c.ok()) << text << ": " << c.status();
    EXPECT_EQ(c->ttl, want) << text;
  }
}

TEST(CliSecurityCommandTest, MalformedTtlIsUsageErrorNamingTheFlag) {
  for (const char* text : {"", "d", "1x", "-1h", "1h2d", "90", "inf", "d1h", "1.5d"}) {
    ExpectUsageError({"token", "create", "--node", "a", "--ttl", text},
                     "--ttl: want a duration like 1h, 30m, 90d or 1d12h");
  }
}

TEST(CliSecurityCommandTest, TtlBelowOneSecondIsUsageError) {
  ExpectUsageError({"token", "create", "--node", "a", "--ttl", "0s"}, "--ttl: must be at least 1s");
}

TEST(CliSecurityCommandTest, CredentialsCreateTakesNameRoleTtlAndFile) {
  absl::StatusOr<Command> c =
      Parse({"credentials", "create", "alice", "--role", "editor", "--ttl", "30d", "-o", "a.cfg"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->verb, Verb::kCredentialsCreate);
  EXPECT_EQ(c->subject, "alice");
  EXPECT_EQ(c->role, "editor");
  EXPECT_EQ(c->ttl, absl::Hours(24 * 30));
  EXPECT_EQ(c->output_file, "a.cfg");
  EXPECT_TRUE(c->credentials_server.empty());
}

TEST(CliSecurityCommandTest, CredentialsCreateServerAfterTheCommandIsTheConfigsServer) {
  absl::StatusOr<Command> c = Parse({"--server", "unix:/run/ferry.sock", "credentials", "create",
                                     "alice", "--role", "admin", "--server", "192.0.2.100:7443"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "unix:/run/ferry.sock");
  EXPECT_EQ(c->server_source, ServerSource::kFlag);
  EXPECT_EQ(c->credentials_server, "192.0.2.100:7443");
}

TEST(CliSecurityCommandTest, ServerAfterOtherCommandsIsStillWhereFerryctlConnects) {
  absl::StatusOr<Command> c = Parse({"credentials", "revoke", "bob", "--server", "10.0.0.1:7443"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "10.0.0.1:7443");
  EXPECT_EQ(c->server_source, ServerSource::kFlag);
}

TEST(CliSecurityCommandTest, CredentialsCreateRefusesAUnixServerForTheConfig) {
  ExpectUsageError(
      {"credentials", "create", "alice", "--role", "admin", "--server", "unix:/run/ferry.sock"},
      "put --server before the command or set $FERRY_SERVER");
}

TEST(CliSecurityCommandTest, CredentialsCreateServerNeedsAPort) {
  ExpectUsageError({"credentials", "create", "alice", "--role", "admin", "--server", "192.0.2.1"},
                   "--server: want HOST:PORT (e.g. 192.0.2.100:7443), got \"192.0.2.1\"");
}

TEST(CliSecurityCommandTest, CredentialsCreateWithoutRoleIsUsageError) {
  ExpectUsageError({"credentials", "create", "alice"},
                   "credentials create needs --role viewer, editor or admin");
}

TEST(CliSecurityCommandTest, CredentialsCreateRefusesNodeRoleAndPointsAtTokens) {
  ExpectUsageError({"credentials", "create", "node-a", "--role", "node"},
                   "--role: want viewer, editor or admin, got \"node\" (nodes get their "
                   "certificates by joining with a token");
}

TEST(CliSecurityCommandTest, UnknownRoleIsUsageError) {
  ExpectUsageError({"credentials", "create", "alice", "--role", "root"},
                   "--role: want viewer, editor or admin, got \"root\"");
  ExpectUsageError({"credentials", "revoke", "alice", "--role", "root"},
                   "--role: want node, viewer, editor or admin, got \"root\"");
}

TEST(CliSecurityCommandTest, CredentialsCreateWithoutNameIsUsageError) {
  ExpectUsageError({"credentials", "create", "--role", "viewer"},
                   "credentials create needs a NAME");
}

TEST(CliSecurityCommandTest, CredentialsWithTwoNamesIsUsageError) {
  ExpectUsageError({"credentials", "revoke", "alice", "bob"},
                   "credentials revoke takes one NAME, got 2 (\"alice\", \"bob\")");
}

TEST(CliSecurityCommandTest, CredentialsRevokeTakesNameAndOptionalRole) {
  absl::StatusOr<Command> c = Parse({"credentials", "revoke", "node-a", "--role", "node"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->verb, Verb::kCredentialsRevoke);
  EXPECT_EQ(c->subject, "node-a");
  EXPECT_EQ(c->role, "node");
  c = Parse({"credentials", "revoke", "alice"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->role.empty());
}

TEST(CliSecurityCommandTest, OutputFileIsOnlyForCredentialsCreate) {
  ExpectUsageError({"credentials", "revoke", "alice", "-o", "x"},
                   "unknown flag \"-o\" for \"credentials revoke\"");
}

TEST(CliSecurityCommandTest, ConfigFlagIsGlobal) {
  absl::StatusOr<Command> c = Parse({"--config", "/etc/ferry/admin.yaml", "get", "nodes"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->config_path, "/etc/ferry/admin.yaml");
  c = Parse({"token", "create", "--node", "a", "--config=/x"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->config_path, "/x");
  ExpectUsageError({"--config", "", "get", "nodes"}, "--config: must not be empty");
}

TEST(CliSecurityCommandTest, ServerSourceSaysWhetherFlagOrEnvironmentGaveIt) {
  EXPECT_EQ(Parse({"get", "nodes"})->server_source, ServerSource::kDefault);
  EXPECT_EQ(Parse({"get", "nodes"}, "unix:/s")->server_source, ServerSource::kEnvironment);
  EXPECT_EQ(Parse({"--server", "a:1", "get", "nodes"}, "unix:/s")->server_source,
            ServerSource::kFlag);
}

TEST(CliSecurityCommandTest, UsageTextListsTheNewVerbs) {
  const std::string usage = UsageText();
  EXPECT_THAT(usage, HasSubstr("token create --node NAME"));
  EXPECT_THAT(usage, HasSubstr("credentials create NAME --role viewer|editor|admin"));
  EXPECT_THAT(usage, HasSubstr("credentials revoke NAME"));
  EXPECT_THAT(usage, HasSubstr("--config FILE"));
  EXPECT_THAT(usage, Not(HasSubstr("\t")));
}

}  // namespace
}  // namespace ferry::cli
