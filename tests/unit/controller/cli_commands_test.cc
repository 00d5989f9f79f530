// ferryctl commands end to end against an in-process fake ResourceService.

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "controller/cli/runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/cli_fake_resource_service.h"

namespace ferry::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

std::string ForwardYaml(const std::string& name, int port) {
  return "apiVersion: ferry.dev/v1\n"
         "kind: IPForward\n"
         "metadata:\n"
         "  name: " +
         name +
         "\n"
         "spec:\n"
         "  frontend:\n"
         "    nodeName: node-a\n"
         "    address: 192.0.2.1\n"
         "  backend:\n"
         "    nodeName: node-b\n"
         "    address: 10.8.0.2\n"
         "  ports:\n"
         "  - protocol: TCP\n"
         "    port: " +
         std::to_string(port) + "\n";
}

class CliCommandsTest : public ::testing::Test {
 protected:
  CliCommandsTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("ferryctl-test-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        client_(fake_.channel(), "in-process", absl::Seconds(5)) {
    std::filesystem::create_directories(dir_);
  }
  ~CliCommandsTest() override { std::filesystem::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  int Run(std::vector<std::string> args, const std::string& stdin_text = "") {
    absl::StatusOr<Command> command = ParseCommandLine(args, "");
    EXPECT_TRUE(command.ok()) << command.status();
    if (!command.ok()) return -1;
    std::istringstream in(stdin_text);
    out_.str("");
    err_.str("");
    return RunCommand(*command, client_, {in, out_, err_});
  }

  std::vector<std::string> OutLines() const {
    return absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
  }
  std::vector<std::string> ErrLines() const {
    return absl::StrSplit(err_.str(), '\n', absl::SkipEmpty());
  }

  std::filesystem::path dir_;
  testing::FakeServer fake_;
  ResourceClient client_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CliCommandsTest, ApplySendsAllObjectsInOneRequestAndPrintsOutcomes) {
  const std::string path =
      WriteFile("two.yaml", ForwardYaml("web", 80) + "---\n" + ForwardYaml("api", 81));
  EXPECT_EQ(Run({"apply", "-f", path}), kExitOk) << err_.str();
  ASSERT_EQ(fake_.service().apply_requests().size(), 1u);
  EXPECT_EQ(fake_.service().apply_requests()[0].objects_size(), 2);
  EXPECT_FALSE(fake_.service().apply_requests()[0].dry_run());
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/web created", "ipforward/api created"));
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST_F(CliCommandsTest, ApplyAgainReportsUnchangedAndConfigured) {
  const std::string web = WriteFile("web.yaml", ForwardYaml("web", 80));
  ASSERT_EQ(Run({"apply", "-f", web}), kExitOk);
  EXPECT_EQ(Run({"apply", "-f", web}), kExitOk);
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/web unchanged"));
  WriteFile("web.yaml", ForwardYaml("web", 8080));
  EXPECT_EQ(Run({"apply", "-f", web}), kExitOk);
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/web configured"));
}

TEST_F(CliCommandsTest, ApplyDryRunIsFlaggedAndSaysSo) {
  const std::string path = WriteFile("web.yaml", ForwardYaml("web", 80));
  EXPECT_EQ(Run({"apply", "--dry-run", "-f", path}), kExitOk);
  ASSERT_EQ(fake_.service().apply_requests().size(), 1u);
  EXPECT_TRUE(fake_.service().apply_requests()[0].dry_run());
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/web created (dry run)"));
}

TEST_F(CliCommandsTest, ApplyReadsDirectoryYamlFilesInNameOrder) {
  WriteFile("b.yml", ForwardYaml("second", 81));
  WriteFile("a.yaml", ForwardYaml("first", 80));
  WriteFile("notes.txt", "not a manifest");
  EXPECT_EQ(Run({"apply", "-f", dir_.string()}), kExitOk) << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/first created", "ipforward/second created"));
}

TEST_F(CliCommandsTest, ApplyReadsStdin) {
  EXPECT_EQ(Run({"apply", "-f", "-"}, ForwardYaml("web", 80)), kExitOk) << err_.str();
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/web created"));
}

TEST_F(CliCommandsTest, ApplyWithOneBadDocumentSendsNothing) {
  const std::string good = WriteFile("a.yaml", ForwardYaml("web", 80));
  const std::string bad = WriteFile("b.yaml", ForwardYaml("api", 70000));
  EXPECT_EQ(Run({"apply", "-f", good, "-f", bad}), kExitFailure);
  EXPECT_THAT(fake_.service().apply_requests(), IsEmpty());
  ASSERT_EQ(ErrLines().size(), 1u) << err_.str();
  EXPECT_THAT(ErrLines()[0], StartsWith("error: " + bad + ":"));
  EXPECT_THAT(ErrLines()[0], HasSubstr("spec.ports[0].port"));
}

TEST_F(CliCommandsTest, ABadDocumentAfterMessagesWereSentAppliesNothing) {
  // About 3 MiB of good forwards goes out (the client's writes wait on the
  // server reading) before the bad one is read: the stream is cancelled
  // without its last message, so nothing is applied.
  std::string good;
  for (int i = 0; i < 40000; ++i) {
    good += ForwardYaml("fwd-" + std::to_string(i), 1000 + i % 50000) + "---\n";
  }
  const std::string many = WriteFile("a.yaml", good);
  const std::string bad = WriteFile("b.yaml", ForwardYaml("api", 70000));
  EXPECT_EQ(Run({"apply", "-f", many, "-f", bad}), kExitFailure);
  EXPECT_THAT(fake_.service().apply_requests(), IsEmpty());
  EXPECT_GT(fake_.service().apply_messages(), 0) << "nothing was streamed before the error";
  ASSERT_EQ(ErrLines().size(), 1u) << err_.str();
  EXPECT_THAT(ErrLines()[0], StartsWith("error: " + bad + ":"));
}

TEST_F(CliCommandsTest, ApplyOfSameNameInTwoFilesIsRejected) {
  const std::string a = WriteFile("a.yaml", ForwardYaml("web", 80));
  const std::string b = WriteFile("b.yaml", ForwardYaml("web", 81));
  EXPECT_EQ(Run({"apply", "-f", a, "-f", b}), kExitFailure);
  EXPECT_THAT(fake_.service().apply_requests(), IsEmpty());
  EXPECT_THAT(err_.str(), HasSubstr("ipforward/web is also defined at " + a));
}

TEST_F(CliCommandsTest, ApplyOfMissingPathFails) {
  EXPECT_EQ(Run({"apply", "-f", (dir_ / "absent.yaml").string()}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("does not exist"));
}

TEST_F(CliCommandsTest, GetMissingForwardSaysNotFound) {
  EXPECT_EQ(Run({"get", "forward", "web"}), kExitFailure);
  EXPECT_EQ(err_.str(), "error: ipforward \"web\" not found\n");
}

TEST_F(CliCommandsTest, GetListsAppliedForwardsAsTable) {
  ASSERT_EQ(Run({"apply", "-f", "-"}, ForwardYaml("web", 80) + "---\n" + ForwardYaml("api", 81)),
            kExitOk);
  EXPECT_EQ(Run({"get", "forwards"}), kExitOk) << err_.str();
  std::vector<std::string> lines = OutLines();
  ASSERT_EQ(lines.size(), 3u) << out_.str();
  EXPECT_THAT(lines[0], StartsWith("NAME"));
  EXPECT_THAT(lines[1], StartsWith("api "));
  EXPECT_THAT(lines[2], StartsWith("web "));
}

TEST_F(CliCommandsTest, GetOfEmptyListSaysNoResources) {
  EXPECT_EQ(Run({"get", "nodes"}), kExitOk);
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_EQ(err_.str(), "No resources found.\n");
}

TEST_F(CliCommandsTest, DeleteByNamePrintsDeleted) {
  ASSERT_EQ(Run({"apply", "-f", "-"}, ForwardYaml("web", 80)), kExitOk);
  EXPECT_EQ(Run({"delete", "forward", "web"}), kExitOk);
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/web deleted"));
}

TEST_F(CliCommandsTest, DeleteOfMissingNameFails) {
  EXPECT_EQ(Run({"delete", "forward", "web"}), kExitFailure);
  EXPECT_EQ(err_.str(), "error: ipforward \"web\" not found\n");
}

TEST_F(CliCommandsTest, DeleteOfMissingNameWithIgnoreNotFoundSucceeds) {
  EXPECT_EQ(Run({"delete", "forward", "web", "--ignore-not-found"}), kExitOk);
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST_F(CliCommandsTest, DeleteFromFileContinuesPastMissingObjectsAndFailsAtEnd) {
  ASSERT_EQ(Run({"apply", "-f", "-"}, ForwardYaml("b", 81)), kExitOk);
  const std::string path =
      WriteFile("all.yaml", ForwardYaml("a", 80) + "---\n" + ForwardYaml("b", 81));
  EXPECT_EQ(Run({"delete", "-f", path}), kExitFailure);
  EXPECT_THAT(ErrLines(), ElementsAre("ipforward/a not found"));
  EXPECT_THAT(OutLines(), ElementsAre("ipforward/b deleted"));
  EXPECT_THAT(fake_.service().deleted(), ElementsAre("ipforward/b"));
}

TEST_F(CliCommandsTest, DeleteFromFileWithIgnoreNotFoundSucceeds) {
  const std::string path = WriteFile("a.yaml", ForwardYaml("a", 80));
  EXPECT_EQ(Run({"delete", "-f", path, "--ignore-not-found"}), kExitOk);
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST(CliUnreachableTest, UnreachableServerIsOneErrorLineNamingTheAddress) {
  const std::string address = "unix:" + (std::filesystem::temp_directory_path() /
                                         ("ferryctl-absent-" + std::to_string(getpid()) + ".sock"))
                                            .string();
  std::istringstream in;
  std::ostringstream out, err;
  const int code = FerryctlMain({"--server", address, "get", "forwards"}, {}, {in, out, err});
  EXPECT_EQ(code, kExitFailure);
  EXPECT_THAT(err.str(), StartsWith("error: cannot reach ferry-controller at " + address + ": "));
  const std::string message = err.str();
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 1);
}

TEST(CliMainTest, UsageErrorExitsTwoWithOneLine) {
  std::istringstream in;
  std::ostringstream out, err;
  EXPECT_EQ(FerryctlMain({"get"}, {}, {in, out, err}), kExitUsage);
  EXPECT_THAT(err.str(), StartsWith("error: "));
  const std::string message = err.str();
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 1);
}

TEST(CliMainTest, HelpAndVersionNeedNoServer) {
  std::istringstream in;
  std::ostringstream out, err;
  EXPECT_EQ(FerryctlMain({"--help"}, {}, {in, out, err}), kExitOk);
  EXPECT_THAT(out.str(), HasSubstr("Usage:"));
  out.str("");
  EXPECT_EQ(FerryctlMain({"version", "--client"}, {}, {in, out, err}), kExitOk);
  EXPECT_EQ(out.str(), absl::StrCat("Client Version: ", kFerryctlVersion, "\n"));
}

}  // namespace
}  // namespace ferry::cli
