// Who a call is comes from the certificate or the unix peer's uid alone;
// an agent stream speaks for its certificate's node, or for the node an
// admin names.

#include "controller/security/principal_resolver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/security/pki.h"
#include "controller/server/node_identity.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

std::string ClientCert(const security::CertificateAuthority& ca, const std::string& cn,
                       const std::string& role) {
  auto key = security::GenerateKeyPem();
  auto csr = security::MakeCsrPem(*key, "whatever-the-requester-says");
  security::SigningRequest request;
  request.csr_pem = *csr;
  request.common_name = cn;
  request.role = role;
  auto cert = security::SignCertificate(ca, request);
  EXPECT_TRUE(cert.ok()) << cert.status();
  return *cert;
}

class PrincipalResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = security::CreateCertificateAuthority("test-ca", absl::Hours(24));
    ASSERT_TRUE(ca.ok());
    ca_ = *ca;
  }
  security::CertificateAuthority ca_;
};

TEST_F(PrincipalResolverTest, CertificateGivesNameAndRole) {
  PrincipalResolver resolver({});
  Principal p = resolver.FromCertificate(ClientCert(ca_, "alice", "editor"), "ipv4:10.0.0.5:1");
  EXPECT_EQ(p.name, "alice");
  EXPECT_EQ(p.role, Role::kEditor);
  EXPECT_FALSE(p.serial.empty());
  EXPECT_FALSE(p.local);
}

TEST_F(PrincipalResolverTest, RevokedCertificateIsUnauthenticated) {
  std::string cert = ClientCert(ca_, "alice", "admin");
  std::string serial = security::ParseCertificatePem(cert)->serial;
  PrincipalResolver::Options options;
  options.is_revoked = [serial](const std::string& s) { return s == serial; };
  PrincipalResolver resolver(options);
  Principal p = resolver.FromCertificate(cert, "ipv4:10.0.0.5:1");
  EXPECT_FALSE(p.authenticated());
  EXPECT_THAT(p.unauthenticated_reason, HasSubstr("revoked"));
}

TEST_F(PrincipalResolverTest, CertificateWithoutRoleIsUnauthenticated) {
  PrincipalResolver resolver({});
  Principal p = resolver.FromCertificate(ClientCert(ca_, "mallory", ""), "ipv4:10.0.0.5:1");
  EXPECT_FALSE(p.authenticated());
  EXPECT_THAT(p.unauthenticated_reason, HasSubstr("names no Ferry role"));
}

TEST_F(PrincipalResolverTest, NoCertificateIsAnonymous) {
  PrincipalResolver resolver({});
  Principal p = resolver.FromCertificate("", "ipv4:10.0.0.5:1");
  EXPECT_EQ(p.name, "anonymous");
  EXPECT_FALSE(p.authenticated());
}

TEST_F(PrincipalResolverTest, UnixRootAndOwnerAreAdminOthersViewer) {
  PrincipalResolver::Options options;
  options.socket_owner = 1000;
  PrincipalResolver resolver(options);
  EXPECT_EQ(resolver.FromUid(0, "unix").role, Role::kAdmin);
  EXPECT_EQ(resolver.FromUid(1000, "unix").role, Role::kAdmin);
  Principal other = resolver.FromUid(1001, "unix");
  EXPECT_EQ(other.role, Role::kViewer);
  EXPECT_EQ(other.name, "uid:1001");
  EXPECT_TRUE(other.local);
}

Principal With(const std::string& name, Role role) {
  Principal p;
  p.name = name;
  p.role = role;
  return p;
}

TEST(CertificateNodeAuthenticatorTest, NodeCertificateSpeaksForItsNameOnly) {
  auto node = CertificateNodeAuthenticator::NodeFor(With("node-a", Role::kNode), "node-b");
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(*node, "node-a");  // the header is not read for nodes
}

TEST(CertificateNodeAuthenticatorTest, AdminMayActAsTheNodeItNames) {
  auto node = CertificateNodeAuthenticator::NodeFor(With("uid:0", Role::kAdmin), "node-b");
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(*node, "node-b");
  EXPECT_TRUE(absl::IsUnauthenticated(
      CertificateNodeAuthenticator::NodeFor(With("uid:0", Role::kAdmin), "").status()));
}

TEST(CertificateNodeAuthenticatorTest, PeopleBelowAdminMayNotSync) {
  for (Role role : {Role::kViewer, Role::kEditor}) {
    auto node = CertificateNodeAuthenticator::NodeFor(With("bob", role), "node-a");
    EXPECT_TRUE(absl::IsPermissionDenied(node.status()));
    EXPECT_THAT(node.status().message(), HasSubstr("permission denied: user \"bob\""));
  }
}

TEST(CertificateNodeAuthenticatorTest, AnonymousIsToldToJoin) {
  Principal anonymous;
  anonymous.name = "anonymous";
  anonymous.unauthenticated_reason = "no client certificate";
  auto node = CertificateNodeAuthenticator::NodeFor(anonymous, "node-a");
  EXPECT_TRUE(absl::IsUnauthenticated(node.status()));
  EXPECT_THAT(node.status().message(), HasSubstr("--join-token"));
}

}  // namespace
}  // namespace ferry::controller
