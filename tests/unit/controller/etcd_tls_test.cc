// Ferry on an etcd that serves clients over TLS and wants their
// certificates (--client-cert-auth), as an existing production cluster
// does: the right files connect; a missing client certificate or the wrong
// CA is refused, naming the endpoint, and nothing is written.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/security/pki.h"
#include "controller/etcd/etcd_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/etcd_test_server.h"
#include "tests/unit/controller/write_ops.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

struct Issued {
  std::string cert;
  std::string key;
};

Issued Issue(const security::CertificateAuthority& ca, const std::string& name, bool server) {
  absl::StatusOr<std::string> key = security::GenerateKeyPem();
  EXPECT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::string> csr = security::MakeCsrPem(*key, name);
  EXPECT_TRUE(csr.ok()) << csr.status();
  security::SigningRequest request;
  request.csr_pem = *csr;
  request.common_name = name;
  request.server = server;
  if (server) request.sans = {"127.0.0.1", "localhost"};
  absl::StatusOr<std::string> cert = security::SignCertificate(ca, request);
  EXPECT_TRUE(cert.ok()) << cert.status();
  return {cert.value_or(""), *key};
}

class EtcdTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdTestServer::Installed()) GTEST_SKIP() << EtcdTestServer::kNotInstalled;
    dir_ = absl::StrCat(::testing::TempDir(), "ferry-etcd-tls-", getpid());
    std::filesystem::create_directories(dir_);
    absl::StatusOr<security::CertificateAuthority> ca =
        security::CreateCertificateAuthority("etcd test CA", absl::Hours(1));
    ASSERT_TRUE(ca.ok()) << ca.status();
    absl::StatusOr<security::CertificateAuthority> other =
        security::CreateCertificateAuthority("another CA", absl::Hours(1));
    ASSERT_TRUE(other.ok()) << other.status();
    Write("ca.crt", ca->cert_pem);
    Write("other-ca.crt", other->cert_pem);
    const Issued member = Issue(*ca, "etcd-member", /*server=*/true);
    Write("member.crt", member.cert);
    Write("member.key", member.key);
    const Issued client = Issue(*ca, "ferry", /*server=*/false);
    Write("client.crt", client.cert);
    Write("client.key", client.key);

    EtcdTestServer::Options options;
    options.cert_file = Path("member.crt");
    options.key_file = Path("member.key");
    options.trusted_ca_file = Path("ca.crt");
    options.client = Client("ca.crt", true);
    absl::StatusOr<std::unique_ptr<EtcdTestServer>> server = EtcdTestServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(Path(name)) << text;
  }
  EtcdClientOptions Client(const std::string& ca, bool with_certificate) const {
    EtcdClientOptions client;
    client.ca_file = Path(ca);
    if (with_certificate) {
      client.cert_file = Path("client.crt");
      client.key_file = Path("client.key");
    }
    return client;
  }
  EtcdStore::Options StoreOptions(EtcdClientOptions client) const {
    EtcdStore::Options options;
    options.client = std::move(client);
    options.client.endpoints = {server_->endpoint()};
    options.client.request_timeout = absl::Seconds(2);
    options.connect_timeout = absl::Seconds(2);
    options.prefix = "/ferry-tls/";
    return options;
  }

  std::string dir_;
  std::unique_ptr<EtcdTestServer> server_;
};

TEST_F(EtcdTlsTest, TheClusterCaAndAClientCertificateConnect) {
  ASSERT_THAT(server_->endpoint(), HasSubstr("https://"));
  absl::StatusOr<std::unique_ptr<EtcdStore>> store =
      EtcdStore::Open(StoreOptions(Client("ca.crt", true)));
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->ClaimOwner("test").ok());
  absl::StatusOr<int64_t> written = (*store)->Commit({store_test::Put("web", "v1")});
  ASSERT_TRUE(written.ok()) << written.status();
  absl::StatusOr<StoredObject> read = (*store)->Get("IPForward", "web");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->value, "v1");
}

TEST_F(EtcdTlsTest, WithoutAClientCertificateTheClusterRefusesNamingTheEndpoint) {
  absl::StatusOr<std::unique_ptr<EtcdStore>> store =
      EtcdStore::Open(StoreOptions(Client("ca.crt", false)));
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr(server_->endpoint()));
}

TEST_F(EtcdTlsTest, AClusterCertificateFromAnotherCaIsRefusedNamingTheEndpoint) {
  absl::StatusOr<std::unique_ptr<EtcdStore>> store =
      EtcdStore::Open(StoreOptions(Client("other-ca.crt", true)));
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr(server_->endpoint()));
}

TEST_F(EtcdTlsTest, AnHttpsEndpointWithoutACaFileIsInvalidNamingTheFlag) {
  EtcdClientOptions client;
  absl::StatusOr<std::unique_ptr<EtcdStore>> store = EtcdStore::Open(StoreOptions(client));
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(store.status())) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr("--etcd-ca-file"));
}

}  // namespace
}  // namespace ferry::controller
