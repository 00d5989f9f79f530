// SecurityService over a real CA and store, called in-process: a join
// issues a node certificate once per token, bad input changes nothing, and
// only admins create tokens and credentials.

#include "controller/server/security_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "api/security/join_token.h"
#include "api/security/pki.h"
#include "controller/security/controller_pki.h"
#include "controller/security/credential_store.h"
#include "controller/security/principal_resolver.h"
#include "tests/unit/controller/memory_store.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

class RecordingAudit : public AuditSink {
 public:
  void Record(const AuditEntry& entry) override { entries.push_back(entry); }
  std::vector<AuditEntry> entries;
};

class SecurityServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/ferry-security-service.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    PkiOptions options;
    options.data_dir = dir_;
    options.sans = {"127.0.0.1"};
    auto pki = ControllerPki::LoadOrCreate(options);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
    auto creds = CredentialStore::Open(&store_);
    ASSERT_TRUE(creds.ok());
    creds_ = *std::move(creds);
    PrincipalResolver::Options resolver;
    // In-process calls have no unix peer: every call is "uid" role_uid_.
    resolver.unix_peer_uid = [this](absl::string_view) { return caller_uid_; };
    resolver.socket_owner = 0;
    resolver_ = std::make_unique<PrincipalResolver>(resolver);
    SecurityServiceImpl::Options service_options;
    service_options.audit = &audit_;
    service_ = std::make_unique<SecurityServiceImpl>(pki_.get(), creds_.get(), resolver_.get(),
                                                     service_options);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  std::string NewToken(const std::string& node) {
    grpc::ServerContext context;
    ferry::v1::CreateJoinTokenRequest request;
    request.set_node_name(node);
    ferry::v1::CreateJoinTokenResponse response;
    grpc::Status status = service_->CreateJoinToken(&context, &request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.token();
  }

  grpc::Status Join(const std::string& token, const std::string& node, const std::string& csr,
                    ferry::v1::CertificateResponse* response) {
    grpc::ServerContext context;
    ferry::v1::JoinRequest request;
    request.set_token(token);
    request.set_node_name(node);
    request.set_csr_pem(csr);
    return service_->Join(&context, &request, response);
  }

  std::string Csr() {
    auto key = security::GenerateKeyPem();
    return *security::MakeCsrPem(*key, "anything");
  }

  std::string dir_;
  MemoryStore store_;
  std::unique_ptr<ControllerPki> pki_;
  std::unique_ptr<CredentialStore> creds_;
  std::unique_ptr<PrincipalResolver> resolver_;
  RecordingAudit audit_;
  std::unique_ptr<SecurityServiceImpl> service_;
  std::optional<uid_t> caller_uid_ = 0;
};

TEST_F(SecurityServiceTest, JoinIssuesANodeCertificateForTheTokensNode) {
  const std::string token = NewToken("node-a");
  EXPECT_THAT(token, HasSubstr(pki_->ca_pin()));
  ferry::v1::CertificateResponse response;
  grpc::Status status = Join(token, "node-a", Csr(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  auto info = security::ParseCertificatePem(response.certificate_pem());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->common_name, "node-a");
  EXPECT_EQ(info->role, "node");
  EXPECT_EQ(response.ca_pem(), pki_->ca_pem());
  EXPECT_TRUE(
      security::VerifyCertificate(response.certificate_pem(), pki_->ca_pem(), absl::Now()).ok());
  ASSERT_FALSE(audit_.entries.empty());
  EXPECT_EQ(audit_.entries.back().verb, "join");
  EXPECT_TRUE(audit_.entries.back().allowed);
}

TEST_F(SecurityServiceTest, TokenOfAnotherNodeIsRefusedAndIssuesNothing) {
  const std::string token = NewToken("node-b");
  ferry::v1::CertificateResponse response;
  grpc::Status status = Join(token, "node-a", Csr(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("issued for node \"node-b\""));
  EXPECT_TRUE(response.certificate_pem().empty());
  int certificates = 0;
  ASSERT_TRUE(
      store_.List(kKindCertificate, [&](const StoredObject&) { return ++certificates; }).ok());
  EXPECT_EQ(certificates, 0);
  EXPECT_FALSE(audit_.entries.back().allowed);
}

TEST_F(SecurityServiceTest, UsedTokenIsRefused) {
  const std::string token = NewToken("node-a");
  ferry::v1::CertificateResponse response;
  ASSERT_TRUE(Join(token, "node-a", Csr(), &response).ok());
  grpc::Status again = Join(token, "node-a", Csr(), &response);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(again.error_message(), HasSubstr("already used"));
}

TEST_F(SecurityServiceTest, GarbageCsrIsRefusedAndTheTokenStaysUnused) {
  const std::string token = NewToken("node-a");
  ferry::v1::CertificateResponse response;
  grpc::Status status =
      Join(token, "node-a", "-----BEGIN CERTIFICATE REQUEST-----\nxx\n", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("csr"));
  EXPECT_TRUE(Join(token, "node-a", Csr(), &response).ok());
}

TEST_F(SecurityServiceTest, TokenOfAnotherControllerIsRefused) {
  auto other = security::NewJoinToken(std::string(64, 'a'));
  ferry::v1::CertificateResponse response;
  grpc::Status status = Join(other->ToString(), "node-a", Csr(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("not this controller's CA"));
}

TEST_F(SecurityServiceTest, ViewerMayNotCreateTokensOrCredentials) {
  caller_uid_ = 1234;  // not root, not the owner: viewer
  grpc::ServerContext context;
  ferry::v1::CreateJoinTokenRequest request;
  request.set_node_name("node-a");
  ferry::v1::CreateJoinTokenResponse response;
  grpc::Status status = service_->CreateJoinToken(&context, &request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(),
              HasSubstr("permission denied: user \"uid:1234\" (viewer) may not create-token"));
  grpc::ServerContext context2;
  ferry::v1::CreateCredentialsRequest creds;
  creds.set_name("bob");
  creds.set_role("admin");
  creds.set_csr_pem(Csr());
  ferry::v1::CertificateResponse issued;
  EXPECT_EQ(service_->CreateCredentials(&context2, &creds, &issued).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(issued.certificate_pem().empty());
}

TEST_F(SecurityServiceTest, CredentialsCarryTheRequestedRoleAndRevokeCountsThem) {
  grpc::ServerContext context;
  ferry::v1::CreateCredentialsRequest request;
  request.set_name("alice");
  request.set_role("editor");
  request.set_csr_pem(Csr());
  ferry::v1::CertificateResponse response;
  ASSERT_TRUE(service_->CreateCredentials(&context, &request, &response).ok());
  auto info = security::ParseCertificatePem(response.certificate_pem());
  EXPECT_EQ(info->common_name, "alice");
  EXPECT_EQ(info->role, "editor");
  grpc::ServerContext revoke_context;
  ferry::v1::RevokeRequest revoke;
  revoke.set_name("alice");
  ferry::v1::RevokeResponse revoked;
  ASSERT_TRUE(service_->Revoke(&revoke_context, &revoke, &revoked).ok());
  EXPECT_EQ(revoked.revoked(), 1);
  EXPECT_TRUE(creds_->IsRevoked(info->serial));
}

TEST_F(SecurityServiceTest, NodeRoleIsNotGrantedToPeople) {
  grpc::ServerContext context;
  ferry::v1::CreateCredentialsRequest request;
  request.set_name("node-a");
  request.set_role("node");
  request.set_csr_pem(Csr());
  ferry::v1::CertificateResponse response;
  grpc::Status status = service_->CreateCredentials(&context, &request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("--role: must be viewer, editor or admin"));
}

TEST_F(SecurityServiceTest, PkiIsPrivateAndReusedOnRestart) {
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/pki").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
  ASSERT_EQ(::stat((dir_ + "/pki/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  PkiOptions options;
  options.data_dir = dir_;
  options.sans = {"127.0.0.1"};
  auto again = ControllerPki::LoadOrCreate(options);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->ca_pin(), pki_->ca_pin());
  EXPECT_EQ((*again)->server_chain_pem(), pki_->server_chain_pem());
  // A new SAN re-issues the serving certificate under the same CA.
  options.sans = {"127.0.0.1", "ferry.example"};
  auto widened = ControllerPki::LoadOrCreate(options);
  ASSERT_TRUE(widened.ok());
  EXPECT_EQ((*widened)->ca_pin(), pki_->ca_pin());
  auto info = security::ParseCertificatePem((*widened)->server_chain_pem());
  EXPECT_THAT(info->sans, ::testing::Contains("ferry.example"));
}

}  // namespace
}  // namespace ferry::controller
