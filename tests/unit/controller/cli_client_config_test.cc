// ferryctl's client config: strict parsing with positions, the YAML
// `credentials create` prints, and where the config is looked for.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "controller/cli/client_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/cli_fake_security_service.h"

namespace ferry::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A config with real PEMs, as `credentials create` would print it.
ClientConfig ValidConfig() {
  const security::CertificateAuthority ca = testing::TestCa();
  const testing::TestIdentity alice = testing::IssueIdentity(ca, "alice", "viewer");
  ClientConfig config;
  config.server = "192.0.2.100:7443";
  config.certificate_authority = ca.cert_pem;
  config.client_certificate = alice.cert_pem;
  config.client_key = alice.key_pem;
  return config;
}

// The status message of parsing `yaml` as "cfg", which must fail.
std::string ParseError(const std::string& yaml) {
  absl::StatusOr<ClientConfig> config = ParseClientConfig(yaml, "cfg");
  EXPECT_FALSE(config.ok()) << "accepted:\n" << yaml;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

TEST(CliClientConfigTest, EncodedConfigParsesBackToTheSamePems) {
  const ClientConfig config = ValidConfig();
  absl::StatusOr<ClientConfig> parsed = ParseClientConfig(EncodeClientConfig(config), "cfg");
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << EncodeClientConfig(config);
  EXPECT_EQ(parsed->server, config.server);
  EXPECT_EQ(parsed->certificate_authority, config.certificate_authority);
  EXPECT_EQ(parsed->client_certificate, config.client_certificate);
  EXPECT_EQ(parsed->client_key, config.client_key);
  EXPECT_EQ(parsed->source, "cfg");
}

TEST(CliClientConfigTest, EncodingStartsWithApiVersionAndKindAndQuotesTheServer) {
  ClientConfig config = ValidConfig();
  config.server = "[2001:db8::1]:7443";
  const std::string yaml = EncodeClientConfig(config);
  EXPECT_THAT(yaml,
              ::testing::StartsWith("apiVersion: ferry.dev/v1\nkind: Config\n"
                                    "server: \"[2001:db8::1]:7443\"\n"
                                    "certificateAuthority: |\n  -----BEGIN CERTIFICATE-----\n"));
  absl::StatusOr<ClientConfig> parsed = ParseClientConfig(yaml, "cfg");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->server, "[2001:db8::1]:7443");
}

TEST(CliClientConfigTest, OnlyApiVersionAndKindAreRequired) {
  absl::StatusOr<ClientConfig> parsed =
      ParseClientConfig("apiVersion: ferry.dev/v1\nkind: Config\nserver: unix:/run/f.sock\n", "c");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->server, "unix:/run/f.sock");
  EXPECT_TRUE(parsed->client_key.empty());
}

TEST(CliClientConfigTest, WrongApiVersionNamesLineColumnAndField) {
  EXPECT_EQ(ParseError("apiVersion: v1\nkind: Config\n"),
            "cfg:1:13: apiVersion: want ferry.dev/v1, got \"v1\"");
}

TEST(CliClientConfigTest, WrongKindNamesLineColumnAndField) {
  EXPECT_EQ(ParseError("apiVersion: ferry.dev/v1\nkind: IPForward\n"),
            "cfg:2:7: kind: want Config, got \"IPForward\"");
}

TEST(CliClientConfigTest, MissingKindPointsAtTheMap) {
  EXPECT_EQ(ParseError("apiVersion: ferry.dev/v1\nserver: a:1\n"),
            "cfg:1:1: kind: required; want Config");
}

TEST(CliClientConfigTest, UnknownFieldIsAnErrorNamingTheKnownOnes) {
  EXPECT_EQ(ParseError("apiVersion: ferry.dev/v1\nkind: Config\nsever: a:1\n"),
            "cfg:3:1: sever: unknown field; want apiVersion, kind, server, certificateAuthority, "
            "clientCertificate or clientKey");
}

TEST(CliClientConfigTest, NonStringFieldIsAnError) {
  EXPECT_EQ(ParseError("apiVersion: ferry.dev/v1\nkind: Config\nserver:\n  host: a\n"),
            "cfg:4:3: server: must be a string, got map");
}

TEST(CliClientConfigTest, DuplicateFieldIsAnError) {
  EXPECT_THAT(ParseError("apiVersion: ferry.dev/v1\nkind: Config\nserver: a:1\nserver: b:2\n"),
              HasSubstr("cfg:4:1:"));
}

TEST(CliClientConfigTest, MalformedYamlNamesThePosition) {
  EXPECT_THAT(ParseError("apiVersion: ferry.dev/v1\nkind: [Config\n"),
              ::testing::StartsWith("cfg:"));
}

TEST(CliClientConfigTest, EmptyFileIsAnError) {
  EXPECT_EQ(ParseError("# nothing\n"),
            "cfg: empty; want a client config (apiVersion: ferry.dev/v1, kind: Config)");
}

TEST(CliClientConfigTest, SecondDocumentIsAnError) {
  EXPECT_EQ(ParseError("apiVersion: ferry.dev/v1\nkind: Config\n---\napiVersion: x\n"),
            "cfg:3:1: a client config is one document; found a second");
}

TEST(CliClientConfigTest, ListAtTheTopIsAnError) {
  EXPECT_THAT(ParseError("- a\n"), HasSubstr("cfg:1:1: a client config must be a map"));
}

TEST(CliClientConfigTest, CertificateAuthorityMustBePem) {
  EXPECT_EQ(ParseError("apiVersion: ferry.dev/v1\nkind: Config\ncertificateAuthority: hello\n"),
            "cfg:3:23: certificateAuthority: want PEM certificates (-----BEGIN CERTIFICATE-----)");
}

TEST(CliClientConfigTest, KeyWithoutCertificateIsAnError) {
  ClientConfig config = ValidConfig();
  config.client_certificate.clear();
  EXPECT_THAT(ParseError(EncodeClientConfig(config)),
              HasSubstr(": clientCertificate: required with clientKey"));
}

TEST(CliClientConfigTest, KeyOfAnotherCertificateIsAnErrorThatDoesNotEchoTheKey) {
  ClientConfig config = ValidConfig();
  const std::string other_key = *security::GenerateKeyPem();
  config.client_key = other_key;
  const std::string message = ParseError(EncodeClientConfig(config));
  EXPECT_THAT(message, HasSubstr(": clientKey: does not belong to clientCertificate"));
  EXPECT_THAT(message, Not(HasSubstr("PRIVATE KEY")));
}

TEST(CliClientConfigTest, KeyThatIsNotPemIsAnError) {
  ClientConfig config = ValidConfig();
  config.client_key = "secret-value\n";
  const std::string message = ParseError(EncodeClientConfig(config));
  EXPECT_THAT(message, HasSubstr("clientKey: want a PEM private key"));
  EXPECT_THAT(message, Not(HasSubstr("secret-value")));
}

class CliClientConfigFileTest : public ::testing::Test {
 protected:
  CliClientConfigFileTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("ferryctl-cfg-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::create_directories(dir_);
  }
  ~CliClientConfigFileTest() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& relative, const std::string& server, mode_t mode = 0600) {
    const std::filesystem::path path = dir_ / relative;
    std::filesystem::create_directories(path.parent_path());
    ClientConfig config = ValidConfig();
    config.server = server;
    std::ofstream(path) << EncodeClientConfig(config);
    chmod(path.c_str(), mode);
    return path.string();
  }

  std::filesystem::path dir_;
};

TEST_F(CliClientConfigFileTest, FlagWinsOverEnvironmentAndDefault) {
  const std::string flag = Write("flag.yaml", "flag:1");
  const std::string env = Write("env.yaml", "env:1");
  Write(".config/ferry/config", "home:1");
  absl::StatusOr<std::optional<ClientConfig>> c = LoadClientConfig(flag, env, dir_.string());
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->server, "flag:1");
  EXPECT_EQ((*c)->source, flag);
}

TEST_F(CliClientConfigFileTest, EnvironmentWinsOverDefault) {
  const std::string env = Write("env.yaml", "env:1");
  Write(".config/ferry/config", "home:1");
  absl::StatusOr<std::optional<ClientConfig>> c = LoadClientConfig("", env, dir_.string());
  ASSERT_TRUE(c.ok() && c->has_value()) << c.status();
  EXPECT_EQ((*c)->server, "env:1");
}

TEST_F(CliClientConfigFileTest, DefaultFileIsReadWhenItExists) {
  Write(".config/ferry/config", "home:1");
  absl::StatusOr<std::optional<ClientConfig>> c = LoadClientConfig("", "", dir_.string());
  ASSERT_TRUE(c.ok() && c->has_value()) << c.status();
  EXPECT_EQ((*c)->server, "home:1");
}

TEST_F(CliClientConfigFileTest, NoConfigAnywhereIsNone) {
  absl::StatusOr<std::optional<ClientConfig>> c = LoadClientConfig("", "", dir_.string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->has_value());
  c = LoadClientConfig("", "", "");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->has_value());
}

TEST_F(CliClientConfigFileTest, MissingFlagFileIsAnErrorNamingTheFlag) {
  const std::string path = (dir_ / "nope.yaml").string();
  absl::StatusOr<std::optional<ClientConfig>> c = LoadClientConfig(path, "", "");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "--config " + path + ": cannot read the client config: No such file or directory");
}

TEST_F(CliClientConfigFileTest, MissingEnvironmentFileIsAnErrorNamingTheVariable) {
  const std::string path = (dir_ / "nope.yaml").string();
  absl::StatusOr<std::optional<ClientConfig>> c = LoadClientConfig("", path, "");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              ::testing::StartsWith("$FERRY_CONFIG=" + path + ": "));
}

TEST_F(CliClientConfigFileTest, ErrorsInAFileNameItsPathAndLine) {
  const std::filesystem::path path = dir_ / "bad.yaml";
  std::ofstream(path) << "apiVersion: ferry.dev/v1\nkind: Config\nserver: [a]\n";
  absl::StatusOr<std::optional<ClientConfig>> c = LoadClientConfig(path.string(), "", "");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), path.string() + ":3:9: server: must be a string, got list");
}

TEST_F(CliClientConfigFileTest, KeyReadableByOthersIsFlagged) {
  absl::StatusOr<std::optional<ClientConfig>> c =
      LoadClientConfig(Write("open.yaml", "a:1", 0644), "", "");
  ASSERT_TRUE(c.ok() && c->has_value()) << c.status();
  EXPECT_TRUE((*c)->key_readable_by_others);
  c = LoadClientConfig(Write("closed.yaml", "a:1", 0600), "", "");
  ASSERT_TRUE(c.ok() && c->has_value()) << c.status();
  EXPECT_FALSE((*c)->key_readable_by_others);
}

}  // namespace
}  // namespace ferry::cli
