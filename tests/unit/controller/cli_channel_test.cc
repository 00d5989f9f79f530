// How ferryctl picks its server and credentials, and mutual TLS end to end
// against a loopback server with a real CA.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/cli/channel.h"
#include "controller/cli/runner.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/cli_fake_resource_service.h"
#include "tests/unit/controller/cli_fake_security_service.h"

namespace ferry::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

ClientConfig ConfigWithServer(const std::string& server) {
  ClientConfig config;
  config.server = server;
  config.source = "cfg";
  return config;
}

TEST(CliChannelTest, ServerFlagWinsOverEnvironmentConfigAndDefault) {
  const ClientConfig config = ConfigWithServer("config:1");
  absl::StatusOr<Command> c = ParseCommandLine({"--server", "flag:1", "get", "nodes"}, "env:1");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(ResolveServer(*c, &config), "flag:1");
}

TEST(CliChannelTest, EnvironmentWinsOverConfig) {
  const ClientConfig config = ConfigWithServer("config:1");
  absl::StatusOr<Command> c = ParseCommandLine({"get", "nodes"}, "env:1");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(ResolveServer(*c, &config), "env:1");
}

TEST(CliChannelTest, ConfigWinsOverDefault) {
  const ClientConfig config = ConfigWithServer("config:1");
  absl::StatusOr<Command> c = ParseCommandLine({"get", "nodes"}, "");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(ResolveServer(*c, &config), "config:1");
  EXPECT_EQ(ResolveServer(*c, nullptr), kDefaultServer);
  const ClientConfig no_server = ConfigWithServer("");
  EXPECT_EQ(ResolveServer(*c, &no_server), kDefaultServer);
}

TEST(CliChannelTest, UnixSocketNeedsNoConfig) {
  EXPECT_TRUE(MakeChannelCredentials("unix:/run/ferry.sock", nullptr, absl::Now()).ok());
  EXPECT_TRUE(MakeChannelCredentials("unix-abstract:ferry", nullptr, absl::Now()).ok());
}

TEST(CliChannelTest, TcpWithoutConfigSaysHowToGetOne) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
      MakeChannelCredentials("10.0.0.1:7443", nullptr, absl::Now());
  ASSERT_FALSE(creds.ok());
  EXPECT_EQ(creds.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(creds.status().message(),
            "server 10.0.0.1:7443 is TCP: ferryctl needs a client config (--config, "
            "$FERRY_CONFIG or ~/.config/ferry/config); create one with `ferryctl credentials "
            "create`");
}

TEST(CliChannelTest, TcpWithConfigLackingCaOrCertificateIsRefused) {
  const security::CertificateAuthority ca = testing::TestCa();
  const testing::TestIdentity alice = testing::IssueIdentity(ca, "alice", "viewer");
  ClientConfig config = ConfigWithServer("10.0.0.1:7443");
  config.client_certificate = alice.cert_pem;
  config.client_key = alice.key_pem;
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
      MakeChannelCredentials(config.server, &config, absl::Now());
  ASSERT_FALSE(creds.ok());
  EXPECT_THAT(std::string(creds.status().message()), StartsWith("cfg has no certificateAuthority"));

  config.certificate_authority = ca.cert_pem;
  config.client_certificate.clear();
  config.client_key.clear();
  creds = MakeChannelCredentials(config.server, &config, absl::Now());
  ASSERT_FALSE(creds.ok());
  EXPECT_THAT(std::string(creds.status().message()),
              StartsWith("cfg has no clientCertificate and clientKey"));
}

TEST(CliChannelTest, ExpiredClientCertificateSaysWhenAndWhatToDo) {
  const security::CertificateAuthority ca = testing::TestCa();
  const testing::TestIdentity alice = testing::IssueIdentity(ca, "alice", "viewer");
  ClientConfig config = ConfigWithServer("10.0.0.1:7443");
  config.certificate_authority = ca.cert_pem;
  config.client_certificate = alice.cert_pem;
  config.client_key = alice.key_pem;
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
      MakeChannelCredentials(config.server, &config, absl::Now() + absl::Hours(24 * 365));
  ASSERT_FALSE(creds.ok());
  EXPECT_THAT(std::string(creds.status().message()),
              HasSubstr("clientCertificate of \"alice\" expired at "));
  EXPECT_THAT(std::string(creds.status().message()), HasSubstr("ferryctl credentials create"));
}

TEST(CliChannelTest, FerryctlRefusesTcpWithoutConfigBeforeConnecting) {
  std::istringstream in;
  std::ostringstream out, err;
  EXPECT_EQ(FerryctlMain({"--server", "10.0.0.1:7443", "get", "nodes"}, {}, {in, out, err}),
            kExitFailure);
  EXPECT_EQ(err.str(),
            "error: server 10.0.0.1:7443 is TCP: ferryctl needs a client config (--config, "
            "$FERRY_CONFIG or ~/.config/ferry/config); create one with `ferryctl credentials "
            "create`\n");
}

// A ResourceService on a loopback TCP port that demands a client
// certificate from `ca`, and client configs for it.
class CliMutualTlsTest : public ::testing::Test {
 protected:
  CliMutualTlsTest()
      : ca_(testing::TestCa("ferry-ca")),
        dir_(std::filesystem::temp_directory_path() /
             ("ferryctl-tls-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::create_directories(dir_);
    const testing::TestIdentity server =
        testing::IssueIdentity(ca_, "ferry-controller", "", /*server=*/true, {"127.0.0.1"});
    grpc::SslServerCredentialsOptions options(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_root_certs = ca_.cert_pem;
    options.pem_key_cert_pairs.push_back({server.key_pem, server.cert_pem});
    int port = 0;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  ~CliMutualTlsTest() override {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    std::filesystem::remove_all(dir_);
  }

  // Writes a config for a viewer whose certificate comes from `issuer` and
  // who trusts `trusted`.
  std::string WriteConfig(const std::string& server, const security::CertificateAuthority& issuer,
                          const std::string& trusted_ca_pem) {
    const testing::TestIdentity alice = testing::IssueIdentity(issuer, "alice", "viewer");
    ClientConfig config;
    config.server = server;
    config.certificate_authority = trusted_ca_pem;
    config.client_certificate = alice.cert_pem;
    config.client_key = alice.key_pem;
    const std::string path = (dir_ / "config").string();
    std::ofstream(path) << EncodeClientConfig(config);
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return path;
  }

  int Main(std::vector<std::string> args, Environment env = {}) {
    std::istringstream in;
    out_.str("");
    err_.str("");
    return FerryctlMain(args, env, {in, out_, err_});
  }

  security::CertificateAuthority ca_;
  std::filesystem::path dir_;
  testing::FakeResourceService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CliMutualTlsTest, ConfigFromFlagReachesTheServerNamedInIt) {
  const std::string config = WriteConfig(address_, ca_, ca_.cert_pem);
  EXPECT_EQ(Main({"--config", config, "get", "forwards"}), kExitOk) << err_.str();
  EXPECT_EQ(err_.str(), "No resources found.\n");
}

// Controller replicas: ferryctl --server a,b uses the first that takes a
// connection, so a dead replica listed first costs a moment, not the call.
TEST_F(CliMutualTlsTest, AListOfReplicasSkipsOneWhereNothingListens) {
  const std::string config = WriteConfig(address_, ca_, ca_.cert_pem);
  // A port this test holds bound but not listening: connections to it are
  // refused at once.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int dead_port = ntohs(addr.sin_port);
  const std::string servers = absl::StrCat("127.0.0.1:", dead_port, ",", address_);
  EXPECT_EQ(Main({"--config", config, "--server", servers, "get", "forwards"}), kExitOk)
      << err_.str();
  EXPECT_EQ(err_.str(), "No resources found.\n");
  close(fd);
}

TEST_F(CliMutualTlsTest, ConfigFromEnvironmentWithServerFromFlag) {
  const std::string config = WriteConfig("192.0.2.1:7443", ca_, ca_.cert_pem);
  EXPECT_EQ(Main({"--server", address_, "get", "forwards"}, {"", config, "", ""}), kExitOk)
      << err_.str();
}

TEST_F(CliMutualTlsTest, ConfigInHomeIsUsedWhenNothingElseIsGiven) {
  const std::string config = WriteConfig(address_, ca_, ca_.cert_pem);
  std::filesystem::create_directories(dir_ / ".config/ferry");
  std::filesystem::rename(config, dir_ / ".config/ferry/config");
  EXPECT_EQ(Main({"get", "forwards"}, {"", "", dir_.string(), ""}), kExitOk) << err_.str();
}

TEST_F(CliMutualTlsTest, ServerNotSignedByTheConfigsCaFailsWithAHint) {
  const security::CertificateAuthority other = testing::TestCa("other-ca");
  const std::string config = WriteConfig(address_, ca_, other.cert_pem);
  EXPECT_EQ(Main({"--config", config, "get", "forwards"}), kExitFailure);
  EXPECT_THAT(err_.str(), StartsWith("error: cannot reach ferry-controller at " + address_));
  EXPECT_THAT(err_.str(), HasSubstr("the TLS handshake failed: check that the client config's "
                                    "certificateAuthority is this controller's CA"));
}

TEST_F(CliMutualTlsTest, ClientCertificateFromAnotherCaIsRefused) {
  const security::CertificateAuthority other = testing::TestCa("other-ca");
  const std::string config = WriteConfig(address_, other, ca_.cert_pem);
  EXPECT_EQ(Main({"--config", config, "get", "forwards"}), kExitFailure);
  EXPECT_THAT(err_.str(), StartsWith("error: cannot reach ferry-controller at " + address_));
  EXPECT_THAT(err_.str(), HasSubstr("clientCertificate was issued by this controller's CA"));
}

TEST_F(CliMutualTlsTest, GroupReadableConfigWithAKeyGetsAWarning) {
  const std::string config = WriteConfig(address_, ca_, ca_.cert_pem);
  std::filesystem::permissions(config, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  EXPECT_EQ(Main({"--config", config, "get", "forwards"}), kExitOk);
  EXPECT_THAT(err_.str(), StartsWith("warning: " + config +
                                     " holds a private key and group or others may read it; "
                                     "chmod 600 " +
                                     config + "\n"));
}

}  // namespace
}  // namespace ferry::cli
