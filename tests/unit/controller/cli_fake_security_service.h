#ifndef FERRY_TESTS_UNIT_CONTROLLER_CLI_FAKE_SECURITY_SERVICE_H_
#define FERRY_TESTS_UNIT_CONTROLLER_CLI_FAKE_SECURITY_SERVICE_H_

// An in-memory SecurityService for ferryctl tests, served in-process. It
// signs CSRs with a real CA (api/security), records every request, and can
// be told to refuse calls with a status, as the controller's authorizer
// would.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "api/security/pki.h"
#include "ferry/v1/security.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace ferry::cli::testing {

// A CA, or the test fails at its first use.
inline security::CertificateAuthority TestCa(const std::string& name = "test-ca") {
  absl::StatusOr<security::CertificateAuthority> ca =
      security::CreateCertificateAuthority(name, absl::Hours(24));
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? *ca : security::CertificateAuthority{};
}

// A key and a certificate for it signed by `ca`.
struct TestIdentity {
  std::string key_pem;
  std::string cert_pem;
};

inline TestIdentity IssueIdentity(const security::CertificateAuthority& ca, const std::string& name,
                                  const std::string& role, bool server = false,
                                  std::vector<std::string> sans = {},
                                  absl::Duration validity = absl::Hours(24)) {
  TestIdentity id;
  absl::StatusOr<std::string> key = security::GenerateKeyPem();
  EXPECT_TRUE(key.ok()) << key.status();
  if (!key.ok()) return id;
  id.key_pem = *key;
  absl::StatusOr<std::string> csr = security::MakeCsrPem(*key, name);
  EXPECT_TRUE(csr.ok()) << csr.status();
  if (!csr.ok()) return id;
  security::SigningRequest request;
  request.csr_pem = *csr;
  request.common_name = name;
  request.role = role;
  request.server = server;
  request.sans = std::move(sans);
  request.validity = validity;
  absl::StatusOr<std::string> cert = security::SignCertificate(ca, request);
  EXPECT_TRUE(cert.ok()) << cert.status();
  if (cert.ok()) id.cert_pem = *cert;
  return id;
}

class FakeSecurityService final : public ferry::v1::SecurityService::Service {
 public:
  explicit FakeSecurityService(security::CertificateAuthority ca) : ca_(std::move(ca)) {}

  // Every later call fails with `status` (OK: answer again).
  void RefuseWith(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    refusal_ = std::move(status);
  }
  // CreateCredentials answers with this certificate instead of signing.
  void AnswerWithCertificate(std::string cert_pem) {
    absl::MutexLock lock(&mu_);
    canned_certificate_ = std::move(cert_pem);
  }
  void SetRevokedCount(int n) {
    absl::MutexLock lock(&mu_);
    revoked_count_ = n;
  }

  std::vector<ferry::v1::CreateJoinTokenRequest> token_requests() {
    absl::MutexLock lock(&mu_);
    return token_requests_;
  }
  std::vector<ferry::v1::CreateCredentialsRequest> credentials_requests() {
    absl::MutexLock lock(&mu_);
    return credentials_requests_;
  }
  std::vector<ferry::v1::RevokeRequest> revoke_requests() {
    absl::MutexLock lock(&mu_);
    return revoke_requests_;
  }

  grpc::Status CreateJoinToken(grpc::ServerContext*,
                               const ferry::v1::CreateJoinTokenRequest* request,
                               ferry::v1::CreateJoinTokenResponse* response) override {
    absl::MutexLock lock(&mu_);
    token_requests_.push_back(*request);
    if (!refusal_.ok()) return refusal_;
    response->set_token(kToken);
    response->mutable_expires()->set_seconds(kTokenExpiresUnixSeconds);
    return grpc::Status::OK;
  }

  grpc::Status CreateCredentials(grpc::ServerContext*,
                                 const ferry::v1::CreateCredentialsRequest* request,
                                 ferry::v1::CertificateResponse* response) override {
    absl::MutexLock lock(&mu_);
    credentials_requests_.push_back(*request);
    if (!refusal_.ok()) return refusal_;
    response->set_ca_pem(ca_.cert_pem);
    if (canned_certificate_.has_value()) {
      response->set_certificate_pem(*canned_certificate_);
      return grpc::Status::OK;
    }
    security::SigningRequest signing;
    signing.csr_pem = request->csr_pem();
    signing.common_name = request->name();
    signing.role = request->role();
    if (request->ttl_seconds() > 0) signing.validity = absl::Seconds(request->ttl_seconds());
    absl::StatusOr<std::string> cert = security::SignCertificate(ca_, signing);
    if (!cert.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(cert.status().message()));
    }
    response->set_certificate_pem(*cert);
    return grpc::Status::OK;
  }

  grpc::Status Revoke(grpc::ServerContext*, const ferry::v1::RevokeRequest* request,
                      ferry::v1::RevokeResponse* response) override {
    absl::MutexLock lock(&mu_);
    revoke_requests_.push_back(*request);
    if (!refusal_.ok()) return refusal_;
    response->set_revoked(revoked_count_);
    return grpc::Status::OK;
  }

  static constexpr char kToken[] =
      "ferry1.abc123.0123456789abcdef."
      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  static constexpr int64_t kTokenExpiresUnixSeconds = 1767225600;  // 2026-01-01T00:00:00Z

 private:
  const security::CertificateAuthority ca_;
  absl::Mutex mu_;
  grpc::Status refusal_ ABSL_GUARDED_BY(mu_);
  std::optional<std::string> canned_certificate_ ABSL_GUARDED_BY(mu_);
  int revoked_count_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<ferry::v1::CreateJoinTokenRequest> token_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<ferry::v1::CreateCredentialsRequest> credentials_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<ferry::v1::RevokeRequest> revoke_requests_ ABSL_GUARDED_BY(mu_);
};

// The fake, served in-process.
class FakeSecurityServer {
 public:
  explicit FakeSecurityServer(security::CertificateAuthority ca) : service_(std::move(ca)) {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
  }
  ~FakeSecurityServer() { server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1))); }

  FakeSecurityService& service() { return service_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

 private:
  FakeSecurityService service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace ferry::cli::testing

#endif  // FERRY_TESTS_UNIT_CONTROLLER_CLI_FAKE_SECURITY_SERVICE_H_
