// Spec: the node certificate is renewed with a new key once 2/3 of its
// lifetime has passed, and only a good answer replaces the files. The
// clock and the RPC are injected: no sleeps, no server.

#include "node-agent/client/cert_renewer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/agent/scratch_dir.h"
#include "tests/unit/agent/test_pki.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;
using testing::Info;
using testing::NodeIdentity;
using testing::ScratchDir;

class CertRenewerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(StoreNodeCredentials(dir_, current_).ok());
    const security::CertificateInfo info = Info(current_.cert_pem);
    due_ = RenewalTime(info);
  }

  // The controller's side: signs the CSR for `name` with `ca`.
  CertRenewer::RenewFunction Signer(const security::CertificateAuthority& ca,
                                    const std::string& name) {
    return
        [this, ca, name](const std::string& csr) -> absl::StatusOr<ferry::v1::CertificateResponse> {
          ++calls_;
          security::SigningRequest request;
          request.csr_pem = csr;
          request.common_name = name;
          request.role = "node";
          request.validity = absl::Hours(24 * 30);
          absl::StatusOr<std::string> cert = security::SignCertificate(ca, request);
          if (!cert.ok()) return cert.status();
          ferry::v1::CertificateResponse response;
          response.set_certificate_pem(*cert);
          response.set_ca_pem(ca.cert_pem);
          return response;
        };
  }

  CertRenewer Renewer(CertRenewer::RenewFunction renew) {
    return CertRenewer(CertRenewer::Options{dir_, "node-a", absl::Minutes(1)}, std::move(renew),
                       [this] { return now_; });
  }

  security::CertificateAuthority ca_ = testing::MakeCa();
  ScratchDir scratch_;
  std::string dir_ = scratch_ / "state";
  // Short-lived, so that the real time a renewed certificate starts at
  // (now - 1 h) lies before the fake clock.
  NodeCredentials current_ = NodeIdentity(ca_, "node-a", absl::Hours(3));
  absl::Time due_;
  absl::Time now_;
  int calls_ = 0;
};

TEST_F(CertRenewerTest, BeforeTwoThirdsOfTheLifetimeNothingIsRenewed) {
  now_ = due_ - absl::Seconds(1);
  CertRenewer renewer = Renewer(Signer(ca_, "node-a"));
  const CertRenewer::Step step = renewer.RenewIfDue();
  EXPECT_FALSE(step.renewed);
  EXPECT_TRUE(step.error.ok()) << step.error;
  EXPECT_EQ(step.next, due_);
  EXPECT_EQ(calls_, 0);
  EXPECT_EQ(testing::ReadAll(dir_ + "/node.crt"), current_.cert_pem);
}

TEST_F(CertRenewerTest, OnceDueANewKeyAndCertificateReplaceTheFiles) {
  now_ = due_;
  CertRenewer renewer = Renewer(Signer(ca_, "node-a"));
  const CertRenewer::Step step = renewer.RenewIfDue();
  ASSERT_TRUE(step.error.ok()) << step.error;
  EXPECT_TRUE(step.renewed);
  EXPECT_EQ(calls_, 1);
  absl::StatusOr<NodeCredentials> now_held = ReadNodeCredentials(dir_);
  ASSERT_TRUE(now_held.ok()) << now_held.status();
  EXPECT_NE(now_held->key_pem, current_.key_pem);
  EXPECT_NE(now_held->cert_pem, current_.cert_pem);
  EXPECT_TRUE(CheckNodeCredentials(*now_held, "node-a", now_).ok());
  EXPECT_EQ(testing::ModeOf(dir_ + "/node.key"), 0600);
  // The next check is the new certificate's renewal time.
  EXPECT_EQ(step.next, RenewalTime(Info(now_held->cert_pem)));
}

TEST_F(CertRenewerTest, ACertificateDueAsSoonAsIssuedIsNotRenewedInALoop) {
  // 10 minutes, backdated an hour by the signer: 2/3 of its lifetime has
  // passed when it is issued.
  ASSERT_TRUE(StoreNodeCredentials(dir_, NodeIdentity(ca_, "node-a", absl::Minutes(10))).ok());
  CertRenewer renewer =
      Renewer([this](const std::string& csr) -> absl::StatusOr<ferry::v1::CertificateResponse> {
        security::SigningRequest request;
        request.csr_pem = csr;
        request.common_name = "node-a";
        request.role = "node";
        request.validity = absl::Minutes(10);
        absl::StatusOr<std::string> cert = security::SignCertificate(ca_, request);
        if (!cert.ok()) return cert.status();
        ferry::v1::CertificateResponse response;
        response.set_certificate_pem(*cert);
        response.set_ca_pem(ca_.cert_pem);
        return response;
      });
  now_ = absl::Now();
  const CertRenewer::Step step = renewer.RenewIfDue();
  ASSERT_TRUE(step.renewed) << step.error;
  EXPECT_EQ(step.next, now_ + absl::Minutes(1));
}

TEST_F(CertRenewerTest, AFailedRenewalKeepsTheFilesAndRetriesSoon) {
  now_ = due_ + absl::Minutes(5);
  CertRenewer renewer =
      Renewer([this](const std::string&) -> absl::StatusOr<ferry::v1::CertificateResponse> {
        ++calls_;
        return absl::UnavailableError("renew via ctl:7443: connection refused");
      });
  const CertRenewer::Step step = renewer.RenewIfDue();
  EXPECT_FALSE(step.renewed);
  EXPECT_THAT(step.error.message(), HasSubstr("connection refused"));
  EXPECT_EQ(step.next, now_ + absl::Minutes(1));
  EXPECT_EQ(testing::ReadAll(dir_ + "/node.key"), current_.key_pem);
  EXPECT_EQ(testing::ReadAll(dir_ + "/node.crt"), current_.cert_pem);
}

TEST_F(CertRenewerTest, ACertificateForAnotherNodeIsRefusedAndNothingChanges) {
  now_ = due_;
  CertRenewer renewer = Renewer(Signer(ca_, "node-b"));
  const CertRenewer::Step step = renewer.RenewIfDue();
  EXPECT_FALSE(step.renewed);
  EXPECT_THAT(step.error.message(),
              HasSubstr("renewed certificate refused: node.crt is for node \"node-b\""));
  EXPECT_EQ(testing::ReadAll(dir_ + "/node.crt"), current_.cert_pem);
}

TEST_F(CertRenewerTest, ACertificateThatDoesNotChainToTheGivenCaIsRefused) {
  now_ = due_;
  const security::CertificateAuthority other = testing::MakeCa("other");
  CertRenewer::RenewFunction sign_other = Signer(other, "node-a");
  CertRenewer renewer =
      Renewer([&](const std::string& csr) -> absl::StatusOr<ferry::v1::CertificateResponse> {
        absl::StatusOr<ferry::v1::CertificateResponse> response = sign_other(csr);
        if (response.ok()) response->set_ca_pem(ca_.cert_pem);
        return response;
      });
  const CertRenewer::Step step = renewer.RenewIfDue();
  EXPECT_FALSE(step.renewed);
  EXPECT_THAT(step.error.message(), HasSubstr("not valid under ca.crt"));
  EXPECT_EQ(testing::ReadAll(dir_ + "/node.crt"), current_.cert_pem);
}

TEST_F(CertRenewerTest, ChannelCredentialsChangeAfterARenewalAndNotBefore) {
  // The client asks before every connection: the same object while the
  // files are unchanged (the channel is kept), a new one once renewed.
  now_ = due_;
  StateDirCredentials source(dir_, "node-a", [this] { return now_; });
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> first = source.Get();
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> again = source.Get();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*first, *again);
  CertRenewer renewer = Renewer(Signer(ca_, "node-a"));
  ASSERT_TRUE(renewer.RenewIfDue().renewed);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> renewed = source.Get();
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_NE(*renewed, *first);
}

TEST_F(CertRenewerTest, ChannelCredentialsRefuseAnExpiredCertificateSayingWhere) {
  now_ = Info(current_.cert_pem).not_after + absl::Minutes(1);
  StateDirCredentials source(dir_, "node-a", [this] { return now_; });
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> got = source.Get();
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(got.status().message(), HasSubstr("credentials in " + dir_));
}

}  // namespace
}  // namespace ferry::agent
