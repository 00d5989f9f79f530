// Spec: a joining node trusts only a controller that proves a chain to the
// CA its token pins, sends its token only after that, and keeps only an
// answer under that same CA. The chain check is a pure function; the join
// runs against an in-process SecurityService over TLS on loopback.

#include "node-agent/client/pinned_join.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "api/security/join_token.h"
#include "ferry/v1/security.grpc.pb.h"
#include "tests/unit/agent/test_pki.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;
using testing::Pin;

class PinnedChainTest : public ::testing::Test {
 protected:
  security::CertificateAuthority ca_ = testing::MakeCa();
  std::string server_key_ = testing::NewKey();
  std::string leaf_ = testing::Sign(ca_, server_key_, "ferry-controller", "", /*server=*/true,
                                    absl::Hours(24), {"127.0.0.1"});
};

TEST_F(PinnedChainTest, AcceptsALeafSignedByThePinnedCaInTheChain) {
  EXPECT_TRUE(VerifyPinnedChain(leaf_ + ca_.cert_pem, Pin(ca_.cert_pem), absl::Now()).ok());
}

TEST_F(PinnedChainTest, RefusesAChainWithoutThePinnedCa) {
  absl::Status status = VerifyPinnedChain(leaf_, Pin(ca_.cert_pem), absl::Now());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(),
              HasSubstr("no certificate in the controller's chain (1 sent) has the CA hash the "
                        "join token pins"));
}

TEST_F(PinnedChainTest, RefusesAnImpostorThatAppendsTheRealCaToItsOwnLeaf) {
  const security::CertificateAuthority impostor = testing::MakeCa("impostor");
  const std::string fake_leaf = testing::Sign(impostor, testing::NewKey(), "ferry-controller", "",
                                              /*server=*/true, absl::Hours(24), {"127.0.0.1"});
  absl::Status status = VerifyPinnedChain(fake_leaf + ca_.cert_pem, Pin(ca_.cert_pem), absl::Now());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(),
              HasSubstr("the controller's certificate is not valid under the CA the join token "
                        "pins"));
}

TEST_F(PinnedChainTest, RefusesAnExpiredLeaf) {
  const absl::Time later = testing::Info(leaf_).not_after + absl::Hours(1);
  EXPECT_THAT(VerifyPinnedChain(leaf_ + ca_.cert_pem, Pin(ca_.cert_pem), later).message(),
              HasSubstr("not valid under the CA the join token pins"));
}

TEST_F(PinnedChainTest, RefusesAnEmptyChain) {
  EXPECT_THAT(VerifyPinnedChain("", Pin(ca_.cert_pem), absl::Now()).message(),
              HasSubstr("presented no certificate"));
}

TEST_F(PinnedChainTest, AJoinAnswerMustNameThePinnedCa) {
  const security::CertificateAuthority other = testing::MakeCa("other");
  const NodeCredentials answer = testing::NodeIdentity(other, "node-a");
  absl::Status status = CheckJoinResponse(answer, Pin(ca_.cert_pem), "node-a", absl::Now());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("not the one the token pins"));
  EXPECT_TRUE(CheckJoinResponse(testing::NodeIdentity(ca_, "node-a"), Pin(ca_.cert_pem), "node-a",
                                absl::Now())
                  .ok());
}

// Signs every CSR for the node the request names, or refuses as told.
class FakeSecurityService final : public ferry::v1::SecurityService::Service {
 public:
  explicit FakeSecurityService(const security::CertificateAuthority& ca) : ca_(ca) {}

  grpc::Status Join(grpc::ServerContext*, const ferry::v1::JoinRequest* request,
                    ferry::v1::CertificateResponse* response) override {
    ++joins;
    last_token = request->token();
    if (!refusal.ok()) {
      return grpc::Status(static_cast<grpc::StatusCode>(refusal.code()),
                          std::string(refusal.message()));
    }
    security::SigningRequest signing;
    signing.csr_pem = request->csr_pem();
    signing.common_name = request->node_name();
    signing.role = "node";
    absl::StatusOr<std::string> cert = security::SignCertificate(ca_, signing);
    if (!cert.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad csr");
    response->set_certificate_pem(*cert);
    response->set_ca_pem(ca_.cert_pem);
    return grpc::Status::OK;
  }

  std::atomic<int> joins{0};
  std::string last_token;
  absl::Status refusal;

 private:
  const security::CertificateAuthority ca_;
};

class PinnedJoinTest : public PinnedChainTest {
 protected:
  void SetUp() override {
    grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    // The controller sends its CA after its leaf, so a joining node can
    // find the pinned key in the chain.
    options.pem_key_cert_pairs.push_back({server_key_, leaf_ + ca_.cert_pem});
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now()); }

  JoinOptions Options(const std::string& pin) {
    JoinOptions options;
    options.target = "127.0.0.1:" + std::to_string(port_);
    absl::StatusOr<security::JoinToken> token = security::NewJoinToken(pin);
    EXPECT_TRUE(token.ok()) << token.status();
    options.token = token->ToString();
    options.node_name = "node-a";
    options.timeout = absl::Seconds(20);
    return options;
  }

  FakeSecurityService service_{ca_};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(PinnedJoinTest, JoinsAControllerWhoseChainHasThePinnedCa) {
  const JoinOptions options = Options(Pin(ca_.cert_pem));
  absl::StatusOr<NodeCredentials> joined = JoinController(options);
  ASSERT_TRUE(joined.ok()) << joined.status();
  EXPECT_EQ(service_.last_token, options.token);
  EXPECT_EQ(joined->ca_pem, ca_.cert_pem);
  EXPECT_TRUE(CheckNodeCredentials(*joined, "node-a", absl::Now()).ok());
}

TEST_F(PinnedJoinTest, AnotherPinFailsTheHandshakeBeforeTheTokenIsSent) {
  const security::CertificateAuthority other = testing::MakeCa("other");
  absl::StatusOr<NodeCredentials> joined = JoinController(Options(Pin(other.cert_pem)));
  EXPECT_EQ(joined.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(joined.status().message(), HasSubstr("failed the CA pin check"));
  EXPECT_EQ(service_.joins.load(), 0);
}

TEST_F(PinnedJoinTest, TheControllersRefusalComesBackAsItCame) {
  service_.refusal =
      absl::PermissionDeniedError("join token is for node \"node-b\", not \"node-a\"");
  absl::StatusOr<NodeCredentials> joined = JoinController(Options(Pin(ca_.cert_pem)));
  EXPECT_EQ(joined.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(joined.status().message(),
              HasSubstr("join token is for node \"node-b\", not \"node-a\""));
}

TEST_F(PinnedJoinTest, AnUnreachableControllerIsUnavailable) {
  JoinOptions options = Options(Pin(ca_.cert_pem));
  options.target = "127.0.0.1:1";  // nothing listens on port 1
  options.timeout = absl::Seconds(5);
  absl::StatusOr<NodeCredentials> joined = JoinController(options);
  EXPECT_TRUE(absl::IsUnavailable(joined.status()) || absl::IsDeadlineExceeded(joined.status()))
      << joined.status();
}

}  // namespace
}  // namespace ferry::agent
