// ferryctl token create, credentials create and credentials revoke end to
// end against an in-process fake SecurityService that signs with a real CA.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "api/security/pki.h"
#include "controller/cli/client_config.h"
#include "controller/cli/security_commands.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/cli_fake_security_service.h"

namespace ferry::cli {
namespace {

using ::testing::ElementsAre;
using testing::FakeSecurityServer;
using testing::FakeSecurityService;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kTcpServer[] = "192.0.2.100:7443";
constexpr char kUnixServer[] = "unix:/run/ferry/ferry.sock";

class CliSecurityCommandsTest : public ::testing::Test {
 protected:
  CliSecurityCommandsTest()
      : ca_(testing::TestCa()),
        fake_(ca_),
        dir_(std::filesystem::temp_directory_path() /
             ("ferryctl-sec-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::create_directories(dir_);
  }
  ~CliSecurityCommandsTest() override { std::filesystem::remove_all(dir_); }

  // Runs `args` as ferryctl would, talking to `server`.
  int Run(std::vector<std::string> args, const std::string& server = kTcpServer) {
    absl::StatusOr<Command> command = ParseCommandLine(args, "");
    EXPECT_TRUE(command.ok()) << command.status();
    if (!command.ok()) return -1;
    SecurityClient client(fake_.channel(), server, absl::Seconds(5));
    std::istringstream in;
    out_.str("");
    err_.str("");
    return RunSecurityCommand(*command, client, {in, out_, err_});
  }

  FakeSecurityService& service() { return fake_.service(); }
  std::vector<std::string> ErrLines() const {
    return absl::StrSplit(err_.str(), '\n', absl::SkipEmpty());
  }
  std::vector<std::string> DirEntries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  security::CertificateAuthority ca_;
  FakeSecurityServer fake_;
  std::filesystem::path dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CliSecurityCommandsTest, TokenCreatePrintsOnlyTheTokenOnStdout) {
  EXPECT_EQ(Run({"token", "create", "--node", "node-b", "--ttl", "2h"}), kExitOk);
  EXPECT_EQ(out_.str(), std::string(FakeSecurityService::kToken) + "\n");
  ASSERT_EQ(service().token_requests().size(), 1u);
  EXPECT_EQ(service().token_requests()[0].node_name(), "node-b");
  EXPECT_EQ(service().token_requests()[0].ttl_seconds(), 7200);
}

TEST_F(CliSecurityCommandsTest, TokenCreateTellsOnStderrHowToJoinAndUntilWhen) {
  EXPECT_EQ(Run({"token", "create", "--node", "node-b"}), kExitOk);
  EXPECT_EQ(service().token_requests()[0].ttl_seconds(), 0);  // the server's default
  EXPECT_THAT(ErrLines(),
              ElementsAre("join with: ferry-agent --node-name node-b --controller " +
                              std::string(kTcpServer) + " --join-token " +
                              FakeSecurityService::kToken + " --state-dir /var/lib/ferry-agent",
                          "valid until 2026-01-01T00:00:00Z, for one join"));
}

TEST_F(CliSecurityCommandsTest, TokenCreateOverUnixSocketLeavesTheAddressToFillIn) {
  EXPECT_EQ(Run({"token", "create", "--node", "node-b"}, kUnixServer), kExitOk);
  EXPECT_THAT(err_.str(), HasSubstr("--controller HOST:PORT --join-token"));
  EXPECT_THAT(err_.str(), HasSubstr("HOST:PORT: the controller's TCP --listen address"));
}

TEST_F(CliSecurityCommandsTest, CredentialsCreatePrintsAConfigWithAKeyForItsCertificate) {
  EXPECT_EQ(Run({"credentials", "create", "alice", "--role", "viewer", "--ttl", "30d"}), kExitOk);
  absl::StatusOr<ClientConfig> config = ParseClientConfig(out_.str(), "stdout");
  ASSERT_TRUE(config.ok()) << config.status() << "\n" << out_.str();
  EXPECT_EQ(config->server, kTcpServer);
  EXPECT_EQ(config->certificate_authority, ca_.cert_pem);
  EXPECT_TRUE(
      security::CheckKeyMatchesCertificate(config->client_key, config->client_certificate).ok());
  absl::StatusOr<security::CertificateInfo> cert =
      security::ParseCertificatePem(config->client_certificate);
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(cert->common_name, "alice");
  EXPECT_EQ(cert->role, "viewer");
  EXPECT_THAT(err_.str(), StartsWith("credentials for \"alice\" (role viewer, valid until "));
}

TEST_F(CliSecurityCommandsTest, CredentialsCreateSendsACsrAndNeverTheKey) {
  EXPECT_EQ(Run({"credentials", "create", "alice", "--role", "editor", "--ttl", "1d"}), kExitOk);
  ASSERT_EQ(service().credentials_requests().size(), 1u);
  const ferry::v1::CreateCredentialsRequest request = service().credentials_requests()[0];
  EXPECT_EQ(request.name(), "alice");
  EXPECT_EQ(request.role(), "editor");
  EXPECT_EQ(request.ttl_seconds(), 86400);
  absl::StatusOr<security::CsrInfo> csr = security::ParseCsrPem(request.csr_pem());
  ASSERT_TRUE(csr.ok()) << csr.status();
  EXPECT_EQ(csr->common_name, "alice");
  EXPECT_THAT(request.DebugString(), Not(HasSubstr("PRIVATE KEY")));
}

TEST_F(CliSecurityCommandsTest, CredentialsCreateWritesTheFileWithMode0600) {
  const std::string path = (dir_ / "alice.config").string();
  const mode_t old_umask = umask(0);  // the mode must not depend on the umask
  const int code = Run({"credentials", "create", "alice", "--role", "admin", "-o", path});
  umask(old_umask);
  EXPECT_EQ(code, kExitOk);
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_THAT(err_.str(), HasSubstr("written to " + path));
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  absl::StatusOr<ClientConfig> config = ParseClientConfig(text.str(), path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(
      security::CheckKeyMatchesCertificate(config->client_key, config->client_certificate).ok());
  EXPECT_THAT(DirEntries(), ElementsAre("alice.config"));  // no temporary left behind
}

TEST_F(CliSecurityCommandsTest, CredentialsCreateReplacesAnOlderFileAndItsLooserMode) {
  const std::string path = (dir_ / "alice.config").string();
  std::ofstream(path) << "old";
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  EXPECT_EQ(Run({"credentials", "create", "alice", "--role", "admin", "-o", path}), kExitOk);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(CliSecurityCommandsTest, CredentialsCreateToAnUnwritableDirectoryAsksTheServerNothing) {
  const std::string path = (dir_ / "missing" / "alice.config").string();
  EXPECT_EQ(Run({"credentials", "create", "alice", "--role", "admin", "-o", path}), kExitFailure);
  EXPECT_THAT(err_.str(), StartsWith("error: -o " + path + ": cannot create a file in "));
  EXPECT_THAT(service().credentials_requests(), IsEmpty());
}

TEST_F(CliSecurityCommandsTest, CredentialsCreateServerFlagNamesTheConfigsServer) {
  EXPECT_EQ(
      Run({"credentials", "create", "alice", "--role", "viewer", "--server", "[2001:db8::1]:7443"},
          kUnixServer),
      kExitOk);
  absl::StatusOr<ClientConfig> config = ParseClientConfig(out_.str(), "stdout");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "[2001:db8::1]:7443");
}

TEST_F(CliSecurityCommandsTest, CredentialsCreateOverUnixSocketNeedsServerFlag) {
  EXPECT_EQ(Run({"credentials", "create", "alice", "--role", "viewer"}, kUnixServer), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("credentials create needs --server HOST:PORT"));
  EXPECT_THAT(service().credentials_requests(), IsEmpty());
}

TEST_F(CliSecurityCommandsTest, ForbiddenIsPrintedAsKubectlDoesAndWritesNothing) {
  service().RefuseWith(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                    "permission denied: user \"bob\" (viewer) may not create "
                                    "credentials"));
  const std::string path = (dir_ / "x.config").string();
  EXPECT_EQ(Run({"credentials", "create", "x", "--role", "admin", "-o", path}), kExitFailure);
  EXPECT_EQ(err_.str(),
            "Error from server (Forbidden): permission denied: user \"bob\" (viewer) may not "
            "create credentials\n");
  EXPECT_THAT(DirEntries(), IsEmpty());
}

TEST_F(CliSecurityCommandsTest, ForbiddenWithoutTheWordsStillSaysPermissionDenied) {
  service().RefuseWith(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "admins only"));
  EXPECT_EQ(Run({"token", "create", "--node", "a"}), kExitFailure);
  EXPECT_EQ(err_.str(), "Error from server (Forbidden): permission denied: admins only\n");
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(CliSecurityCommandsTest, UnauthenticatedIsPrintedAsUnauthorized) {
  service().RefuseWith(
      grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "certificate 1f2e is revoked"));
  EXPECT_EQ(Run({"credentials", "revoke", "bob"}), kExitFailure);
  EXPECT_EQ(err_.str(), "Error from server (Unauthorized): certificate 1f2e is revoked\n");
}

TEST_F(CliSecurityCommandsTest, OtherServerErrorsKeepTheUsualForm) {
  service().RefuseWith(
      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name: must be a DNS label"));
  EXPECT_EQ(Run({"credentials", "revoke", "Bob!"}), kExitFailure);
  EXPECT_EQ(err_.str(), "error: name: must be a DNS label\n");
}

TEST_F(CliSecurityCommandsTest, CertificateForAnotherKeyIsRefusedAndNotWritten) {
  service().AnswerWithCertificate(testing::IssueIdentity(ca_, "alice", "viewer").cert_pem);
  const std::string path = (dir_ / "alice.config").string();
  EXPECT_EQ(Run({"credentials", "create", "alice", "--role", "viewer", "-o", path}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("not a certificate for the key ferryctl sent"));
  EXPECT_THAT(DirEntries(), IsEmpty());
}

TEST_F(CliSecurityCommandsTest, RevokePrintsHowManyCertificates) {
  service().SetRevokedCount(2);
  EXPECT_EQ(Run({"credentials", "revoke", "node-a", "--role", "node"}), kExitOk);
  EXPECT_EQ(out_.str(), "revoked 2 certificate(s) of node-a\n");
  ASSERT_EQ(service().revoke_requests().size(), 1u);
  EXPECT_EQ(service().revoke_requests()[0].name(), "node-a");
  EXPECT_EQ(service().revoke_requests()[0].role(), "node");
}

}  // namespace
}  // namespace ferry::cli
