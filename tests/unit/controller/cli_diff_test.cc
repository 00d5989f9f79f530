// ferryctl diff against an in-process fake ResourceService: what it sends,
// what it prints, and its exit codes (kubectl diff's: 0 no changes, 1
// changes, 2 errors).

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "controller/cli/diff.h"
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

ferry::v1::NodeDiff Node(const std::string& name, std::vector<std::string> lines,
                         const std::string& error = "") {
  ferry::v1::NodeDiff node;
  node.set_node(name);
  for (std::string& line : lines) node.add_lines(std::move(line));
  node.set_error(error);
  return node;
}

ferry::v1::DiffResponse Response(std::vector<ferry::v1::NodeDiff> nodes) {
  ferry::v1::DiffResponse response;
  for (ferry::v1::NodeDiff& node : nodes) *response.add_nodes() = std::move(node);
  return response;
}

class CliDiffTest : public ::testing::Test {
 protected:
  CliDiffTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("ferryctl-diff-test-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        client_(fake_.channel(), "in-process", absl::Seconds(5)) {
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "web.yaml").string();
    std::ofstream(path_) << ForwardYaml("web", 80);
  }
  ~CliDiffTest() override { std::filesystem::remove_all(dir_); }

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
  std::string path_;
  testing::FakeServer fake_;
  ResourceClient client_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CliDiffTest, NothingToChangeExitsZeroAndPrintsNothing) {
  // An affected node whose kernel holds it all already prints nothing.
  fake_.service().SetDiff(grpc::Status::OK, Response({Node("node-a", {})}));
  EXPECT_EQ(Run({"diff", "-f", path_}), kExitDiffNone) << err_.str();
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_THAT(err_.str(), IsEmpty());
  ASSERT_EQ(fake_.service().diff_requests().size(), 1u);
  EXPECT_EQ(fake_.service().diff_requests()[0].objects_size(), 1);
  EXPECT_THAT(fake_.service().apply_requests(), IsEmpty());
}

TEST_F(CliDiffTest, ChangesArePrintedUnderEachNodeAndExitOne) {
  fake_.service().SetDiff(
      grpc::Status::OK,
      Response({Node("node-a", {"+ map dnat4 element 192.0.2.1 . tcp . 80 : 10.8.0.2 . 80 "
                                "comment \"ipforward/web\""}),
                Node("node-b", {"+ rule from 10.8.0.2 ipproto tcp sport 80 lookup 7100 "
                                "priority 10000",
                                "+ route default via 10.8.0.1 table 7100"})}));
  EXPECT_EQ(Run({"diff", "-f", path_}), kExitDiffChanges) << err_.str();
  EXPECT_THAT(OutLines(),
              ElementsAre("node node-a:",
                          "+ map dnat4 element 192.0.2.1 . tcp . 80 : 10.8.0.2 . 80 comment "
                          "\"ipforward/web\"",
                          "node node-b:",
                          "+ rule from 10.8.0.2 ipproto tcp sport 80 lookup 7100 priority 10000",
                          "+ route default via 10.8.0.1 table 7100"));
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST_F(CliDiffTest, ANodeWhoseDiffIsUnknownIsAnErrorAndExitsTwoWhileTheOthersPrint) {
  fake_.service().SetDiff(grpc::Status::OK,
                          Response({Node("node-a", {"+ table inet ferry"}),
                                    Node("node-c", {}, "the node's agent is not connected")}));
  EXPECT_EQ(Run({"diff", "-f", path_}), kExitDiffError);
  EXPECT_THAT(OutLines(), ElementsAre("node node-a:", "+ table inet ferry"));
  EXPECT_THAT(ErrLines(), ElementsAre("node node-c: error: the node's agent is not connected"));
}

TEST_F(CliDiffTest, ABadManifestSendsNothingAndExitsTwo) {
  std::ofstream(path_) << ForwardYaml("web", 70000);
  EXPECT_EQ(Run({"diff", "-f", path_}), kExitDiffError);
  EXPECT_THAT(fake_.service().diff_requests(), IsEmpty());
  ASSERT_EQ(ErrLines().size(), 1u) << err_.str();
  EXPECT_THAT(ErrLines()[0], StartsWith("error: " + path_ + ":"));
  EXPECT_THAT(ErrLines()[0], HasSubstr("spec.ports[0].port"));
}

TEST_F(CliDiffTest, TheControllersRefusalIsShownAtTheFieldsLineAndExitsTwo) {
  fake_.service().SetDiff(grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                                       "ipforward/web: spec.ports[0]: 192.0.2.1:80/TCP on node-a "
                                       "is already claimed by ipforward/other"));
  EXPECT_EQ(Run({"diff", "-f", "-"}, ForwardYaml("web", 80)), kExitDiffError);
  ASSERT_EQ(ErrLines().size(), 1u) << err_.str();
  EXPECT_THAT(ErrLines()[0], StartsWith("error: -:"));
  EXPECT_THAT(ErrLines()[0], HasSubstr("already claimed"));
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(CliDiffTest, DiffNeedsFilesAndIsInTheHelp) {
  absl::StatusOr<Command> none = ParseCommandLine({"diff"}, "");
  EXPECT_THAT(none.status().message(), HasSubstr("diff needs -f FILE, DIR or -"));
  absl::StatusOr<Command> positional = ParseCommandLine({"diff", "web.yaml"}, "");
  EXPECT_THAT(positional.status().message(), HasSubstr("diff takes no arguments"));
  absl::StatusOr<Command> dry = ParseCommandLine({"diff", "--dry-run", "-f", "x"}, "");
  EXPECT_THAT(dry.status().message(), HasSubstr("unknown flag"));
  EXPECT_THAT(UsageText(), HasSubstr("diff -f FILE|DIR|-"));
}

}  // namespace
}  // namespace ferry::cli
