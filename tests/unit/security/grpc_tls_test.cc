// Spec: gRPC's TLS accepts what pki.h issues. A server certificate with
// the address's SAN and a client certificate from the same CA complete a
// mutual TLS handshake over loopback; a client certificate from another
// CA, or a server certificate without the SAN dialled, does not.
//
// The server's SecurityService implements nothing: a call that reaches it
// comes back UNIMPLEMENTED, which proves the handshake succeeded; a failed
// handshake is UNAVAILABLE.

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "api/security/pki.h"
#include "ferry/v1/security.grpc.pb.h"
#include "gtest/gtest.h"

namespace ferry::security {
namespace {

struct Credentials {
  std::string key_pem;
  std::string cert_pem;
};

Credentials Issue(const CertificateAuthority& ca, const std::string& name, bool server,
                  std::vector<std::string> sans = {}) {
  Credentials out;
  out.key_pem = *GenerateKeyPem();
  SigningRequest request;
  request.csr_pem = *MakeCsrPem(out.key_pem, name);
  request.common_name = name;
  request.role = server ? "" : "admin";
  request.server = server;
  request.sans = std::move(sans);
  absl::StatusOr<std::string> cert = SignCertificate(ca, request);
  EXPECT_TRUE(cert.ok()) << cert.status();
  out.cert_pem = *cert;
  return out;
}

class GrpcTlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ca_ = *CreateCertificateAuthority("ferry-ca", absl::Hours(24)); }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }

  // Starts a server on 127.0.0.1 that requires and verifies client certs.
  void StartServer(const Credentials& server) {
    grpc::SslServerCredentialsOptions options(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_root_certs = ca_.cert_pem;
    options.pem_key_cert_pairs.push_back({server.key_pem, server.cert_pem});
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
  }

  // One call with `client`'s certificate, trusting `trusted_ca`.
  grpc::StatusCode Call(const Credentials& client, const std::string& trusted_ca) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = trusted_ca;
    options.pem_private_key = client.key_pem;
    options.pem_cert_chain = client.cert_pem;
    auto channel =
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::SslCredentials(options));
    auto stub = ferry::v1::SecurityService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    ferry::v1::RevokeRequest request;
    ferry::v1::RevokeResponse response;
    grpc::Status status = stub->Revoke(&context, request, &response);
    return status.error_code();
  }

  CertificateAuthority ca_;
  ferry::v1::SecurityService::CallbackService service_;  // every call UNIMPLEMENTED
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(GrpcTlsTest, MutualTlsSucceedsWithCertificatesFromTheCa) {
  ASSERT_NO_FATAL_FAILURE(
      StartServer(Issue(ca_, "ferry-controller", true, {"127.0.0.1", "localhost"})));
  EXPECT_EQ(Call(Issue(ca_, "alice", false), ca_.cert_pem), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(GrpcTlsTest, ServerRefusesAClientCertificateFromAnotherCa) {
  ASSERT_NO_FATAL_FAILURE(StartServer(Issue(ca_, "ferry-controller", true, {"127.0.0.1"})));
  const CertificateAuthority other = *CreateCertificateAuthority("ferry-ca", absl::Hours(24));
  EXPECT_EQ(Call(Issue(other, "alice", false), ca_.cert_pem), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GrpcTlsTest, ClientRefusesAServerCertificateWithoutTheDialledAddress) {
  ASSERT_NO_FATAL_FAILURE(
      StartServer(Issue(ca_, "ferry-controller", true, {"192.0.2.1", "ctl.example.com"})));
  EXPECT_EQ(Call(Issue(ca_, "alice", false), ca_.cert_pem), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace ferry::security
