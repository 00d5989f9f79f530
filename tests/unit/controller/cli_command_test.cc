#include <string>
#include <vector>

#include "absl/status/status.h"
#include "controller/cli/command.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<Command> Parse(std::vector<std::string> args, absl::string_view env = "") {
  return ParseCommandLine(args, env);
}

// Expects a usage error whose message contains `part`.
void ExpectUsageError(std::vector<std::string> args, absl::string_view part) {
  absl::StatusOr<Command> command = Parse(args);
  ASSERT_FALSE(command.ok()) << "accepted: " << testing::PrintToString(args);
  EXPECT_EQ(command.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(command.status().message()), HasSubstr(std::string(part)));
}

TEST(CliCommandTest, ServerDefaultsToLocalhost) {
  absl::StatusOr<Command> c = Parse({"get", "nodes"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, kDefaultServer);
  EXPECT_EQ(c->request_timeout, kDefaultRequestTimeout);
}

TEST(CliCommandTest, ServerComesFromEnvironmentWhenNoFlag) {
  absl::StatusOr<Command> c = Parse({"get", "nodes"}, "unix:/run/ferry.sock");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "unix:/run/ferry.sock");
}

TEST(CliCommandTest, ServerFlagBeforeCommandWinsOverEnvironment) {
  absl::StatusOr<Command> c =
      Parse({"--server", "10.0.0.1:7443", "--request-timeout=2s", "get", "nodes"}, "env:1");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "10.0.0.1:7443");
  EXPECT_EQ(c->request_timeout, absl::Seconds(2));
}

TEST(CliCommandTest, ApplyCollectsRepeatedFilesAndDryRun) {
  absl::StatusOr<Command> c =
      Parse({"apply", "-f", "a.yaml", "--filename=dir", "-f-", "--dry-run"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->verb, Verb::kApply);
  EXPECT_THAT(c->files, ElementsAre("a.yaml", "dir", "-"));
  EXPECT_TRUE(c->dry_run);
}

TEST(CliCommandTest, ApplyWithoutFileIsUsageError) {
  ExpectUsageError({"apply"}, "apply needs -f");
}

TEST(CliCommandTest, ApplyRejectsPositionalArguments) {
  ExpectUsageError({"apply", "web.yaml"}, "apply takes no arguments");
}

TEST(CliCommandTest, GetAcceptsEveryKindAlias) {
  for (const char* alias : {"forwards", "forward", "ipforwards", "fwd", "FWD"}) {
    absl::StatusOr<Command> c = Parse({"get", alias});
    ASSERT_TRUE(c.ok()) << alias << ": " << c.status();
    EXPECT_EQ(c->kind, ferry::v1::IP_FORWARD) << alias;
  }
  for (const char* alias : {"nodes", "node"}) {
    absl::StatusOr<Command> c = Parse({"get", alias});
    ASSERT_TRUE(c.ok()) << alias << ": " << c.status();
    EXPECT_EQ(c->kind, ferry::v1::NODE) << alias;
  }
}

TEST(CliCommandTest, GetWithNameOutputAndFlagsAfterArguments) {
  absl::StatusOr<Command> c = Parse({"get", "forward", "web", "-o", "yaml"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->verb, Verb::kGet);
  EXPECT_THAT(c->names, ElementsAre("web"));
  EXPECT_EQ(c->output, OutputFormat::kYaml);
}

TEST(CliCommandTest, GetAcceptsTypeSlashName) {
  absl::StatusOr<Command> c = Parse({"get", "node/node-a", "-ojson"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kind, ferry::v1::NODE);
  EXPECT_THAT(c->names, ElementsAre("node-a"));
  EXPECT_EQ(c->output, OutputFormat::kJson);
}

TEST(CliCommandTest, GetParsesEveryOutputFormat) {
  EXPECT_EQ(Parse({"get", "fwd", "-o", "wide"})->output, OutputFormat::kWide);
  EXPECT_EQ(Parse({"get", "fwd", "-o=name"})->output, OutputFormat::kName);
  EXPECT_EQ(Parse({"get", "fwd", "--output", "json"})->output, OutputFormat::kJson);
  EXPECT_EQ(Parse({"get", "fwd"})->output, OutputFormat::kTable);
}

TEST(CliCommandTest, GetKeepsLabelSelector) {
  absl::StatusOr<Command> c = Parse({"get", "forwards", "-l", "app=web,tier=edge"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->label_selector, "app=web,tier=edge");
}

TEST(CliCommandTest, UnknownOutputFormatIsUsageError) {
  ExpectUsageError({"get", "forwards", "-o", "xml"}, "unknown output format \"xml\"");
}

TEST(CliCommandTest, MalformedSelectorIsUsageError) {
  // The controller's parser, with its message.
  ExpectUsageError({"get", "forwards", "-l", "app in (web"},
                   "-l: label selector \"app in (web\": '(' without ')'");
  ExpectUsageError({"get", "forwards", "-l", "a=b=c"}, "more than one operator");
}

TEST(CliCommandTest, SetBasedAndExistenceSelectorsAreAccepted) {
  for (const char* selector : {"app", "!app", "app in (web,db)", "app notin (web)", "a=b,c!=d"}) {
    absl::StatusOr<Command> command = Parse({"get", "forwards", "-l", selector});
    ASSERT_TRUE(command.ok()) << selector << ": " << command.status();
    EXPECT_EQ(command->label_selector, selector);
  }
}

TEST(CliCommandTest, LabelTakesATargetAndSetsOrRemovals) {
  absl::StatusOr<Command> c =
      Parse({"label", "node", "node-a", "tier=edge", "zone-", "--overwrite"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->verb, Verb::kLabel);
  EXPECT_EQ(c->kind, ferry::v1::NODE);
  EXPECT_THAT(c->names, ElementsAre("node-a"));
  EXPECT_THAT(c->label_changes, ElementsAre(Command::LabelChange{"tier", "edge"},
                                            Command::LabelChange{"zone", std::nullopt}));
  EXPECT_TRUE(c->overwrite);
  c = Parse({"label", "forward/web", "team="});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kind, ferry::v1::IP_FORWARD);
  EXPECT_THAT(c->label_changes, ElementsAre(Command::LabelChange{"team", ""}));
}

TEST(CliCommandTest, LabelErrorsNameTheArgument) {
  ExpectUsageError({"label", "node", "node-a"}, "at least one change");
  ExpectUsageError({"label", "node", "node-a", "tier"}, "\"tier\": want KEY=VALUE");
  ExpectUsageError({"label", "node", "node-a", "Bad Key=x"}, "\"Bad Key=x\": label key");
  ExpectUsageError({"label", "node", "node-a", "tier=-x"}, "\"tier=-x\": label value");
  ExpectUsageError({"label", "node", "node-a", "tier=a", "tier-"}, "changed twice");
  ExpectUsageError({"label", "events", "e1", "a=b"}, "label does not take events");
}

TEST(CliCommandTest, UnknownResourceTypeIsUsageError) {
  ExpectUsageError({"get", "pods"}, "unknown resource type \"pods\"");
}

TEST(CliCommandTest, GetWithoutTypeIsUsageError) {
  ExpectUsageError({"get"}, "needs a resource type");
}

TEST(CliCommandTest, GetTakesSeveralNamesButDescribeAndWatchOne) {
  absl::StatusOr<Command> c = Parse({"get", "forward", "a", "b"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->names, ElementsAre("a", "b"));
  ExpectUsageError({"describe", "forward", "a", "b"}, "at most one name");
  ExpectUsageError({"get", "forward", "a", "b", "-w"}, "get -w takes at most one name");
}

TEST(CliCommandTest, SelectorWithNameIsUsageError) {
  ExpectUsageError({"get", "forward", "web", "-l", "a=b"}, "-l cannot be combined");
}

TEST(CliCommandTest, FlagOfAnotherCommandIsUsageError) {
  ExpectUsageError({"get", "forwards", "--dry-run"}, "unknown flag \"--dry-run\" for \"get\"");
}

TEST(CliCommandTest, UnknownFlagIsUsageError) {
  ExpectUsageError({"get", "forwards", "--bogus"}, "unknown flag \"--bogus\"");
}

TEST(CliCommandTest, FlagWithoutValueIsUsageError) {
  ExpectUsageError({"get", "forwards", "-o"}, "flag -o needs a value");
}

TEST(CliCommandTest, UnknownCommandIsUsageError) {
  ExpectUsageError({"frobnicate"}, "unknown command \"frobnicate\"");
}

TEST(CliCommandTest, MissingCommandIsUsageError) { ExpectUsageError({}, "missing command"); }

TEST(CliCommandTest, BadRequestTimeoutIsUsageError) {
  ExpectUsageError({"--request-timeout", "soon", "get", "nodes"}, "--request-timeout");
  ExpectUsageError({"--request-timeout", "0", "get", "nodes"}, "must be positive");
}

TEST(CliCommandTest, DescribeTakesTypeAndName) {
  absl::StatusOr<Command> c = Parse({"describe", "forward", "web"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->verb, Verb::kDescribe);
  EXPECT_EQ(c->kind, ferry::v1::IP_FORWARD);
  EXPECT_THAT(c->names, ElementsAre("web"));
}

TEST(CliCommandTest, DeleteByName) {
  absl::StatusOr<Command> c = Parse({"delete", "node", "node-a", "--ignore-not-found"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->verb, Verb::kDelete);
  EXPECT_EQ(c->kind, ferry::v1::NODE);
  EXPECT_THAT(c->names, ElementsAre("node-a"));
  EXPECT_TRUE(c->ignore_not_found);
}

TEST(CliCommandTest, DeleteByFile) {
  absl::StatusOr<Command> c = Parse({"delete", "-f", "web.yaml"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->files, ElementsAre("web.yaml"));
  EXPECT_TRUE(c->names.empty());
}

TEST(CliCommandTest, DeleteWithoutNameIsUsageError) {
  ExpectUsageError({"delete", "forward"}, "delete needs a name");
}

TEST(CliCommandTest, DeleteWithFileAndNameIsUsageError) {
  ExpectUsageError({"delete", "-f", "x.yaml", "forward", "web"}, "not both");
}

TEST(CliCommandTest, WaitForConditionOnNamedForward) {
  absl::StatusOr<Command> c =
      Parse({"wait", "forward/web", "--for=condition=Ready", "--timeout=10s"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->verb, Verb::kWait);
  EXPECT_EQ(c->kind, ferry::v1::IP_FORWARD);
  EXPECT_THAT(c->names, ElementsAre("web"));
  EXPECT_EQ(c->wait_for.condition_type, "Ready");
  EXPECT_EQ(c->wait_for.condition_status, "True");
  EXPECT_FALSE(c->wait_for.for_delete);
  EXPECT_EQ(c->wait_timeout, absl::Seconds(10));
}

TEST(CliCommandTest, WaitDefaultsToThirtySeconds) {
  absl::StatusOr<Command> c = Parse({"wait", "forward/web", "--for", "condition=Accepted"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->wait_timeout, kDefaultWaitTimeout);
  EXPECT_EQ(c->wait_for.condition_type, "Accepted");
}

TEST(CliCommandTest, WaitForExplicitStatusAndAll) {
  absl::StatusOr<Command> c = Parse({"wait", "forwards", "--all", "--for=condition=Ready=False"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->all);
  EXPECT_EQ(c->wait_for.condition_status, "False");
}

TEST(CliCommandTest, WaitForDelete) {
  absl::StatusOr<Command> c = Parse({"wait", "forward/web", "--for=delete"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->wait_for.for_delete);
}

TEST(CliCommandTest, WaitWithoutForIsUsageError) {
  ExpectUsageError({"wait", "forward/web"}, "wait needs --for");
}

TEST(CliCommandTest, WaitWithMalformedForIsUsageError) {
  ExpectUsageError({"wait", "forward/web", "--for=Ready"}, "want condition=NAME");
}

TEST(CliCommandTest, WaitWithNamesAndAllIsUsageError) {
  ExpectUsageError({"wait", "forward/web", "--all", "--for=delete"}, "either names");
}

TEST(CliCommandTest, WaitWithBadTimeoutIsUsageError) {
  ExpectUsageError({"wait", "forward/web", "--for=delete", "--timeout=later"}, "--timeout");
}

TEST(CliCommandTest, WaitWithMixedTypesIsUsageError) {
  ExpectUsageError({"wait", "forward/web", "node/a", "--for=delete"}, "one resource type");
}

TEST(CliCommandTest, HelpFlagAndCommand) {
  EXPECT_EQ(Parse({"--help"})->verb, Verb::kHelp);
  EXPECT_EQ(Parse({"help"})->verb, Verb::kHelp);
  EXPECT_EQ(Parse({"get", "-h"})->verb, Verb::kHelp);
}

TEST(CliCommandTest, Version) {
  EXPECT_EQ(Parse({"version"})->verb, Verb::kVersion);
  ExpectUsageError({"version", "extra"}, "version takes no arguments");
}

}  // namespace
}  // namespace ferry::cli
