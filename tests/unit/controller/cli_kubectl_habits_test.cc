// ferryctl's kubectl habits (issue 16, point 6) end to end against the
// in-process fake ResourceService: get with several names, --no-headers,
// --show-labels, -o jsonpath / custom-columns, --sort-by, JSON integers,
// delete --all / -l, version, explain, completion, edit and wait's reason.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "api/lib/conditions.h"
#include "controller/cli/runner.h"
#include "ferry/version.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/cli_fake_resource_service.h"

namespace ferry::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

ferry::v1::Object Forward(const std::string& name, uint32_t port, int64_t generation = 1,
                          const std::string& ready = "True") {
  ferry::v1::Object object;
  ferry::v1::IPForward* f = object.mutable_ip_forward();
  f->set_api_version("ferry.dev/v1");
  f->set_kind("IPForward");
  f->mutable_metadata()->set_name(name);
  f->mutable_metadata()->set_generation(generation);
  f->mutable_metadata()->set_resource_version("7");
  f->mutable_spec()->mutable_frontend()->set_node_name("node-a");
  f->mutable_spec()->mutable_frontend()->set_address("192.0.2.1");
  f->mutable_spec()->mutable_backend()->set_node_name("node-b");
  f->mutable_spec()->mutable_backend()->set_address("10.8.0.2");
  ferry::v1::PortMapping* p = f->mutable_spec()->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(port);
  ferry::v1::Condition* c = f->mutable_status()->add_conditions();
  c->set_type(api::kConditionReady);
  c->set_status(ready);
  c->set_reason(ready == "True" ? "Applied" : "Pending");
  if (ready != "True") c->set_message("waiting for node node-a");
  c->set_observed_generation(generation);
  return object;
}

ferry::v1::Object Labeled(ferry::v1::Object object, const std::string& key,
                          const std::string& value) {
  (*object.mutable_ip_forward()->mutable_metadata()->mutable_labels())[key] = value;
  return object;
}

class CliKubectlHabitsTest : public ::testing::Test {
 protected:
  CliKubectlHabitsTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("ferryctl-habits-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        client_(fake_.channel(), "in-process", absl::Seconds(5)) {
    std::filesystem::create_directories(dir_);
  }
  ~CliKubectlHabitsTest() override { std::filesystem::remove_all(dir_); }

  int Run(std::vector<std::string> args, const std::string& editor = "") {
    absl::StatusOr<Command> command = ParseCommandLine(args, "");
    EXPECT_TRUE(command.ok()) << command.status();
    if (!command.ok()) return -1;
    if (!editor.empty()) command->editor = editor;
    std::istringstream in;
    out_.str("");
    err_.str("");
    return RunCommand(*command, client_, {in, out_, err_});
  }

  std::string UsageError(std::vector<std::string> args) {
    absl::StatusOr<Command> command = ParseCommandLine(args, "");
    EXPECT_FALSE(command.ok());
    return command.ok() ? "" : std::string(command.status().message());
  }

  std::vector<std::string> OutLines() const {
    return absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
  }

  // An executable shell script, for $EDITOR.
  std::string Script(const std::string& name, const std::string& body) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
    return path;
  }

  std::filesystem::path dir_;
  testing::FakeServer fake_;
  ResourceClient client_;
  std::ostringstream out_;
  std::ostringstream err_;
};

// ------------------------------------------------------------------- get

TEST_F(CliKubectlHabitsTest, GetWithSeveralNamesPrintsEachInOneTable) {
  fake_.service().Put(Forward("web", 80));
  fake_.service().Put(Forward("api", 81));
  fake_.service().Put(Forward("other", 82));
  EXPECT_EQ(Run({"get", "ipforward", "web", "api", "-o", "name"}), kExitOk) << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/web", "ipforward/api"));
  EXPECT_EQ(Run({"get", "forward/web", "forward/api", "--no-headers"}), kExitOk);
  ASSERT_EQ(OutLines().size(), 2u);
  EXPECT_THAT(OutLines()[0], StartsWith("web "));
  EXPECT_THAT(OutLines()[1], StartsWith("api "));
}

TEST_F(CliKubectlHabitsTest, GetWithAMissingNamePrintsTheOthersAndFails) {
  fake_.service().Put(Forward("web", 80));
  EXPECT_EQ(Run({"get", "ipforward", "web", "nope", "-o", "name"}), kExitFailure);
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/web"));
  EXPECT_EQ(err_.str(), "error: ipforward \"nope\" not found\n");
}

TEST_F(CliKubectlHabitsTest, SeveralNamesAsJsonAreAList) {
  fake_.service().Put(Forward("web", 80));
  fake_.service().Put(Forward("api", 81));
  EXPECT_EQ(
      Run({"get", "ipforward", "web", "api", "-o", "jsonpath={.kind} {.items[*].metadata.name}"}),
      kExitOk);
  EXPECT_EQ(out_.str(), "List web api\n");
}

TEST_F(CliKubectlHabitsTest, NoHeadersDropsTheHeaderLine) {
  fake_.service().Put(Forward("web", 80));
  EXPECT_EQ(Run({"get", "forwards", "--no-headers"}), kExitOk);
  ASSERT_EQ(OutLines().size(), 1u);
  EXPECT_THAT(OutLines()[0], StartsWith("web "));
  EXPECT_THAT(out_.str(), Not(HasSubstr("NAME")));
}

TEST_F(CliKubectlHabitsTest, ShowLabelsAddsALabelsColumn) {
  fake_.service().Put(Labeled(Labeled(Forward("web", 80), "team", "web"), "env", "prod"));
  fake_.service().Put(Forward("api", 81));
  EXPECT_EQ(Run({"get", "forwards", "--show-labels"}), kExitOk);
  const std::vector<std::string> lines = OutLines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], ::testing::EndsWith("   LABELS"));
  EXPECT_THAT(lines[1], ::testing::EndsWith("   <none>"));  // api
  EXPECT_THAT(lines[2], ::testing::EndsWith("   env=prod,team=web"));
}

TEST_F(CliKubectlHabitsTest, DefaultForwardColumnsShowDrift) {
  ferry::v1::Object web = Forward("web", 80);
  ferry::v1::Condition* drifted = web.mutable_ip_forward()->mutable_status()->add_conditions();
  drifted->set_type(api::kConditionDrifted);
  drifted->set_status("True");
  fake_.service().Put(web);
  EXPECT_EQ(Run({"get", "forwards"}), kExitOk);
  const std::vector<std::string> lines = OutLines();
  ASSERT_EQ(lines.size(), 2u);
  std::vector<std::string> header = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  std::vector<std::string> row = absl::StrSplit(lines[1], ' ', absl::SkipEmpty());
  EXPECT_THAT(header, ElementsAre("NAME", "FRONTEND", "BACKEND", "PORTS", "SOURCEIP", "READY",
                                  "VERIFIED", "DRIFTED", "AGE"));
  ASSERT_EQ(row.size(), header.size());
  EXPECT_EQ(row[7], "True");
}

TEST_F(CliKubectlHabitsTest, JsonPathOverTheList) {
  fake_.service().Put(Forward("web", 80));
  fake_.service().Put(Forward("api", 81));
  EXPECT_EQ(Run({"get", "ipforwards", "-o", "jsonpath={.items[*].metadata.name}"}), kExitOk);
  EXPECT_EQ(out_.str(), "api web\n");
  EXPECT_EQ(Run({"get", "ipforwards", "-o",
                 "jsonpath={range "
                 ".items[*]}{.metadata.name}{\"\\t\"}{.spec.ports[0].port}{\"\\n\"}{end}"}),
            kExitOk);
  EXPECT_EQ(out_.str(), "api\t81\nweb\t80\n");
}

TEST_F(CliKubectlHabitsTest, JsonPathOfOneNamedObjectIsOnTheObject) {
  fake_.service().Put(Forward("web", 80, 3));
  EXPECT_EQ(Run({"get", "ipforward", "web", "-o", "jsonpath={.metadata.generation}"}), kExitOk);
  EXPECT_EQ(out_.str(), "3\n");
}

TEST_F(CliKubectlHabitsTest, CustomColumnsWithAFilter) {
  fake_.service().Put(Forward("web", 80, 1, "True"));
  fake_.service().Put(Forward("api", 81, 1, "False"));
  EXPECT_EQ(Run({"get", "ipforwards", "-o",
                 "custom-columns=NAME:.metadata.name,READY:.status.conditions[?(@.type==\"Ready\")]"
                 ".status,NONE:.spec.rollout"}),
            kExitOk)
      << err_.str();
  EXPECT_THAT(OutLines(),
              ElementsAre("NAME   READY   NONE", "api    False   <none>", "web    True    <none>"));
  EXPECT_EQ(Run({"get", "ipforwards", "--no-headers", "-o", "custom-columns=N:metadata.name"}),
            kExitOk);
  EXPECT_THAT(OutLines(), ElementsAre("api", "web"));
}

TEST_F(CliKubectlHabitsTest, SortByAStringAndANumber) {
  fake_.service().Put(Forward("a", 90, 2));
  fake_.service().Put(Forward("b", 80, 10));
  fake_.service().Put(Forward("c", 100, 1));
  EXPECT_EQ(Run({"get", "forwards", "-o", "name", "--sort-by=.spec.ports[0].port"}), kExitOk);
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/b", "ipforward/a", "ipforward/c"));
  // Numerically: 10 after 2, which a text sort would put first.
  EXPECT_EQ(Run({"get", "forwards", "-o", "name", "--sort-by", ".metadata.generation"}), kExitOk);
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/c", "ipforward/a", "ipforward/b"));
  EXPECT_EQ(Run({"get", "forwards", "--no-headers", "--sort-by=.metadata.name"}), kExitOk);
  ASSERT_EQ(OutLines().size(), 3u);
  EXPECT_THAT(OutLines()[0], StartsWith("a "));
}

TEST_F(CliKubectlHabitsTest, JsonIntegersAreNumbers) {
  fake_.service().Put(Forward("web", 80, 4));
  EXPECT_EQ(Run({"get", "ipforward", "web", "-o", "json"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("\"generation\": 4"));
  EXPECT_THAT(out_.str(), HasSubstr("\"observedGeneration\": 4"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("\"4\"")));
  // A string field that holds digits stays a string.
  EXPECT_THAT(out_.str(), HasSubstr("\"resourceVersion\": \"7\""));
}

TEST_F(CliKubectlHabitsTest, OutputTemplatesAreCheckedBeforeAnyCall) {
  EXPECT_THAT(UsageError({"get", "forwards", "-o", "jsonpath={.items[0:2]}"}),
              HasSubstr("slices ([a:b]) are not supported"));
  EXPECT_THAT(UsageError({"get", "forwards", "-o", "jsonpath={..name}"}),
              HasSubstr("recursive descent (..) is not supported"));
  EXPECT_THAT(UsageError({"get", "forwards", "-o", "jsonpath={range .items[*]}"}),
              HasSubstr("{range} without {end}"));
  EXPECT_THAT(UsageError({"get", "forwards", "-o", "custom-columns=NAME"}),
              HasSubstr("want HEADER:PATH"));
  EXPECT_THAT(UsageError({"get", "forwards", "-o", "jsonpath="}), HasSubstr("needs a template"));
  EXPECT_THAT(UsageError({"get", "forwards", "--sort-by", ".a[?(@.x>1)]"}),
              HasSubstr("--sort-by: "));
}

// ---------------------------------------------------------------- delete

TEST_F(CliKubectlHabitsTest, DeleteAllDeletesEveryObjectOfTheKind) {
  fake_.service().Put(Forward("web", 80));
  fake_.service().Put(Forward("api", 81));
  EXPECT_EQ(Run({"delete", "ipforwards", "--all"}), kExitOk) << err_.str();
  EXPECT_THAT(fake_.service().deleted(), ElementsAre("ipforward/api", "ipforward/web"));
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/api deleted", "ipforward/web deleted"));
  EXPECT_EQ(Run({"delete", "ipforwards", "--all"}), kExitOk);
  EXPECT_EQ(err_.str(), "No resources found.\n");
}

TEST_F(CliKubectlHabitsTest, DeleteBySelectorDeletesOnlyTheMatches) {
  fake_.service().Put(Labeled(Forward("web", 80), "team", "web"));
  fake_.service().Put(Labeled(Forward("api", 81), "team", "api"));
  fake_.service().Put(Forward("bare", 82));
  EXPECT_EQ(Run({"delete", "forwards", "-l", "team in (web)"}), kExitOk) << err_.str();
  EXPECT_THAT(fake_.service().deleted(), ElementsAre("ipforward/web"));
  EXPECT_EQ(Run({"delete", "forwards", "-l", "!team"}), kExitOk) << err_.str();
  EXPECT_THAT(fake_.service().deleted(), ElementsAre("ipforward/web", "ipforward/bare"));
}

TEST_F(CliKubectlHabitsTest, DeleteAllRefusesNamesAndSelectors) {
  EXPECT_THAT(UsageError({"delete", "forwards", "web", "--all"}),
              HasSubstr("--all cannot be combined with names"));
  EXPECT_THAT(UsageError({"delete", "forwards", "--all", "-l", "a=b"}),
              HasSubstr("--all cannot be combined with -l"));
  EXPECT_THAT(UsageError({"delete", "forwards"}), HasSubstr("--all, -l SELECTOR"));
}

// -------------------------------------------------------- selectors (-l)

TEST_F(CliKubectlHabitsTest, EverySelectorFormTheDocsPromiseIsTaken) {
  fake_.service().Put(Labeled(Forward("web", 80), "team", "web"));
  fake_.service().Put(Labeled(Labeled(Forward("api", 81), "team", "api"), "env", "prod"));
  fake_.service().Put(Forward("bare", 82));
  EXPECT_EQ(Run({"get", "forwards", "-o", "name", "-l", "!env"}), kExitOk) << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/bare", "ipforward/web"));
  EXPECT_EQ(Run({"get", "forwards", "-o", "name", "-l", "team"}), kExitOk) << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/api", "ipforward/web"));
  EXPECT_EQ(Run({"get", "forwards", "-o", "name", "-l", "team in (web)"}), kExitOk) << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/web"));
  EXPECT_EQ(Run({"get", "forwards", "-o", "name", "-l", "team notin (web),env!=dev"}), kExitOk);
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/api", "ipforward/bare"));
}

TEST_F(CliKubectlHabitsTest, DescribeAndWaitTakeASelectorToo) {
  fake_.service().Put(Labeled(Forward("web", 80), "team", "web"));
  fake_.service().Put(Forward("bare", 82, 1, "False"));
  EXPECT_EQ(Run({"describe", "forwards", "-l", "team"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("web"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("bare")));
  // Only web is waited for: bare, not Ready, would time out.
  EXPECT_EQ(
      Run({"wait", "forwards", "-l", "team in (web)", "--for=condition=Ready", "--timeout=0s"}),
      kExitOk)
      << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/web condition met"));
}

// --------------------------------------------------------------- version

TEST_F(CliKubectlHabitsTest, VersionPrintsClientAndServer) {
  EXPECT_EQ(Run({"version"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(),
            absl::StrCat("Client Version: ", kFerryVersion, "\nServer Version: 9.8.7\n"));
}

TEST_F(CliKubectlHabitsTest, VersionClientAndDashDashVersionNeedNoServer) {
  std::istringstream in;
  std::ostringstream out, err;
  // Nothing listens there: neither asks.
  const Environment env{"127.0.0.1:1", "", "/nonexistent", ""};
  EXPECT_EQ(FerryctlMain({"version", "--client"}, env, {in, out, err}), kExitOk) << err.str();
  EXPECT_EQ(out.str(), absl::StrCat("Client Version: ", kFerryVersion, "\n"));
  out.str("");
  EXPECT_EQ(FerryctlMain({"--version"}, env, {in, out, err}), kExitOk) << err.str();
  EXPECT_EQ(out.str(), absl::StrCat("ferryctl ", kFerryVersion, "\n"));
  EXPECT_THAT(UsageError({"get", "forwards", "--version"}),
              HasSubstr("unknown flag \"--version\""));
}

TEST_F(CliKubectlHabitsTest, VersionWithAnUnreachableServerPrintsTheClientsAndFails) {
  std::istringstream in;
  std::ostringstream out, err;
  const Environment env{"unix:" + (dir_ / "nobody.sock").string(), "", "/nonexistent", ""};
  EXPECT_EQ(FerryctlMain({"--request-timeout", "1s", "version"}, env, {in, out, err}),
            kExitFailure);
  EXPECT_EQ(out.str(), absl::StrCat("Client Version: ", kFerryVersion, "\n"));
  EXPECT_THAT(err.str(), StartsWith("error: "));
}

// --------------------------------------------------- explain, completion

TEST_F(CliKubectlHabitsTest, ExplainPrintsAFieldsDocsAndItsFields) {
  EXPECT_EQ(Run({"explain", "ipforward.spec.frontend"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("KIND:     IPForward\nVERSION:  ferry.dev/v1\n\n"
                                     "FIELD:    frontend <Frontend>\n"));
  EXPECT_THAT(out_.str(), HasSubstr("   nodeSelector\t<NodeSelector>\n"));
  EXPECT_THAT(out_.str(), HasSubstr("(an anycast address"));
  EXPECT_EQ(Run({"explain", "fwd.spec.ports.protocol"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("One of: TCP, UDP."));
  EXPECT_EQ(Run({"explain", "nodes"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("   status\t<NodeStatus>\n"));
}

TEST_F(CliKubectlHabitsTest, ExplainOfAnUnknownFieldNamesTheFieldsThereAre) {
  EXPECT_EQ(Run({"explain", "ipforward.spec.frontnd"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("field \"frontnd\" does not exist in spec (its fields: "
                                    "frontend, backend, ports"));
  EXPECT_EQ(Run({"explain", "ipforward.metadata.name.x"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("\"metadata.name\" is a string and has no fields"));
  EXPECT_THAT(UsageError({"explain"}), HasSubstr("explain needs one TYPE[.FIELD...]"));
}

TEST_F(CliKubectlHabitsTest, CompletionScriptsAreGivenForBashAndZsh) {
  EXPECT_EQ(Run({"completion", "bash"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("complete -F _ferryctl ferryctl"));
  EXPECT_THAT(out_.str(), HasSubstr("get \"$kind\" -o name"));
  EXPECT_EQ(Run({"completion", "zsh"}), kExitOk);
  EXPECT_THAT(out_.str(), StartsWith("#compdef ferryctl\n"));
  EXPECT_THAT(UsageError({"completion", "fish"}), HasSubstr("bash or zsh"));
}

TEST_F(CliKubectlHabitsTest, TheBashCompletionScriptParsesAndCompletesVerbs) {
  if (::access("/bin/bash", X_OK) != 0) GTEST_SKIP() << "no bash";
  ASSERT_EQ(Run({"completion", "bash"}), kExitOk);
  const std::string script = (dir_ / "completion.bash").string();
  std::ofstream(script) << out_.str()
                        << "COMP_WORDS=(ferryctl ge); COMP_CWORD=1; _ferryctl; "
                           "echo \"${COMPREPLY[*]}\" > "
                        << (dir_ / "reply").string() << "\n"
                        << "COMP_WORDS=(ferryctl get fo); COMP_CWORD=2; _ferryctl; "
                           "echo \"${COMPREPLY[*]}\" >> "
                        << (dir_ / "reply").string() << "\n";
  ASSERT_EQ(std::system(("/bin/bash " + script).c_str()), 0);
  std::ifstream reply(dir_ / "reply");
  std::stringstream text;
  text << reply.rdbuf();
  EXPECT_EQ(text.str(), "get\nforwards\n");
}

// ------------------------------------------------------------------ edit

TEST_F(CliKubectlHabitsTest, EditAppliesTheSavedChangeAtTheResourceVersionRead) {
  fake_.service().Put(Forward("web", 80));
  const std::string editor = Script("editor.sh", "sed -i 's/port: 80$/port: 8080/' \"$1\"\n");
  EXPECT_EQ(Run({"edit", "ipforward/web"}, editor), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "ipforward/web edited\n");
  ASSERT_EQ(fake_.service().apply_requests().size(), 1u);
  const std::vector<ferry::v1::ApplyRequest> requests = fake_.service().apply_requests();
  const ferry::v1::IPForward& applied = requests[0].objects(0).ip_forward();
  EXPECT_EQ(applied.spec().ports(0).port(), 8080u);
  EXPECT_EQ(applied.metadata().resource_version(), "7");
}

TEST_F(CliKubectlHabitsTest, EditWithoutChangesIsCancelled) {
  fake_.service().Put(Forward("web", 80));
  EXPECT_EQ(Run({"edit", "ipforward", "web"}, "true"), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "Edit cancelled, no changes made.\n");
  EXPECT_THAT(fake_.service().apply_requests(), IsEmpty());
}

TEST_F(CliKubectlHabitsTest, AnInvalidEditIsReopenedWithTheErrorAtTheTop) {
  fake_.service().Put(Forward("web", 80));
  // First save: an invalid port. Second: the file it is shown again, with
  // the error on top, copied aside, and fixed.
  const std::string seen = (dir_ / "seen.yaml").string();
  const std::string editor =
      Script("editor.sh", "if [ -e " + (dir_ / "once").string() + " ]; then\n  cp \"$1\" " + seen +
                              "\n  sed -i 's/port: 70000$/port: 81/' \"$1\"\nelse\n  touch " +
                              (dir_ / "once").string() +
                              "\n  sed -i 's/port: 80$/port: 70000/' \"$1\"\nfi\n");
  EXPECT_EQ(Run({"edit", "forward/web"}, editor), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "ipforward/web edited\n");
  std::ifstream file(seen);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_THAT(text.str(), StartsWith("# The edited file had an error:\n# "));
  EXPECT_THAT(text.str(), HasSubstr("spec.ports[0].port"));
  ASSERT_EQ(fake_.service().apply_requests().size(), 1u);
  EXPECT_EQ(fake_.service().apply_requests()[0].objects(0).ip_forward().spec().ports(0).port(),
            81u);
}

TEST_F(CliKubectlHabitsTest, AnInvalidEditSavedAgainUnchangedExitsKeepingTheFile) {
  fake_.service().Put(Forward("web", 80));
  const std::string editor = Script("editor.sh", "sed -i 's/port: 80$/port: 70000/' \"$1\"\n");
  EXPECT_EQ(Run({"edit", "forward/web"}, editor), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("no valid changes were saved; your changes are in /tmp/"));
  const std::string message = err_.str();
  const std::string path =
      message.substr(message.find("/tmp/"), message.find(".yaml") + 5 - message.find("/tmp/"));
  EXPECT_TRUE(std::filesystem::exists(path)) << path;
  std::filesystem::remove(path);
  EXPECT_THAT(fake_.service().apply_requests(), IsEmpty());
}

TEST_F(CliKubectlHabitsTest, EditMayNotRenameTheObject) {
  fake_.service().Put(Forward("web", 80));
  const std::string editor = Script("editor.sh", "sed -i 's/name: web$/name: other/' \"$1\"\n");
  EXPECT_EQ(Run({"edit", "forward/web"}, editor), kExitFailure);
  EXPECT_THAT(fake_.service().apply_requests(), IsEmpty());
  const std::string message = err_.str();
  const size_t at = message.find("/tmp/");
  ASSERT_NE(at, std::string::npos) << message;
  const std::string path = message.substr(at, message.find(".yaml") + 5 - at);
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("metadata.name: cannot be changed (was \"web\")"));
  std::filesystem::remove(path);
}

TEST_F(CliKubectlHabitsTest, EditOfAMissingObjectFails) {
  EXPECT_EQ(Run({"edit", "forward/nope"}, "true"), kExitFailure);
  EXPECT_EQ(err_.str(), "error: ipforward \"nope\" not found\n");
}

// ------------------------------------------------------------------ wait

TEST_F(CliKubectlHabitsTest, WaitTimingOutSaysWhatItLastSaw) {
  fake_.service().Put(Forward("web", 80, 1, "False"));
  EXPECT_EQ(Run({"wait", "ipforward/web", "--for=condition=Ready", "--timeout=0s"}), kExitFailure);
  EXPECT_EQ(err_.str(),
            "error: timed out waiting for ipforward/web: Ready=False (Pending): waiting for node "
            "node-a\n");
}

TEST_F(CliKubectlHabitsTest, WaitTimingOutOnAnObjectWithoutTheConditionSaysSo) {
  ferry::v1::Object web = Forward("web", 80);
  web.mutable_ip_forward()->mutable_status()->clear_conditions();
  fake_.service().Put(web);
  EXPECT_EQ(Run({"wait", "ipforward/web", "--for=condition=Ready", "--timeout=0s"}), kExitFailure);
  EXPECT_EQ(err_.str(), "error: timed out waiting for ipforward/web: no Ready condition yet\n");
}

}  // namespace
}  // namespace ferry::cli
