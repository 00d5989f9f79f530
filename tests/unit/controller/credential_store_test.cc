// Join tokens are one-time, expire, and join only the node they name;
// revocation is durable and visible to every later lookup.

#include "controller/security/credential_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/controller/memory_store.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

constexpr char kPin[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

class CredentialStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = CredentialStore::Open(&store_, [this] { return now_; });
    ASSERT_TRUE(opened.ok()) << opened.status();
    creds_ = *std::move(opened);
  }

  security::JoinToken Token(const std::string& node, absl::Duration ttl = absl::Hours(1)) {
    auto token = creds_->CreateToken(node, ttl, "admin", kPin);
    EXPECT_TRUE(token.ok()) << token.status();
    return *token;
  }

  MemoryStore store_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  std::unique_ptr<CredentialStore> creds_;
};

TEST_F(CredentialStoreTest, TokenJoinsItsNodeOnce) {
  security::JoinToken token = Token("node-a");
  EXPECT_TRUE(creds_->UseToken(token, "node-a").ok());
  absl::Status again = creds_->UseToken(token, "node-a");
  EXPECT_TRUE(absl::IsUnauthenticated(again));
  EXPECT_THAT(again.message(), HasSubstr("already used"));
}

TEST_F(CredentialStoreTest, TokenForAnotherNodeIsRefusedAndStaysUsable) {
  security::JoinToken token = Token("node-b");
  absl::Status refused = creds_->UseToken(token, "node-a");
  EXPECT_TRUE(absl::IsUnauthenticated(refused));
  EXPECT_THAT(refused.message(), HasSubstr("issued for node \"node-b\", not \"node-a\""));
  EXPECT_TRUE(creds_->UseToken(token, "node-b").ok());
}

TEST_F(CredentialStoreTest, ExpiredTokenIsRefused) {
  security::JoinToken token = Token("node-a", absl::Minutes(5));
  now_ += absl::Minutes(5);
  absl::Status refused = creds_->UseToken(token, "node-a");
  EXPECT_TRUE(absl::IsUnauthenticated(refused));
  EXPECT_THAT(refused.message(), HasSubstr("expired"));
}

TEST_F(CredentialStoreTest, WrongSecretIsRefusedWithoutEchoingIt) {
  security::JoinToken token = Token("node-a");
  security::JoinToken forged = token;
  forged.secret = "zzzzzzzzzzzzzzzz";
  absl::Status refused = creds_->UseToken(forged, "node-a");
  EXPECT_TRUE(absl::IsUnauthenticated(refused));
  EXPECT_THAT(refused.message(), HasSubstr("wrong secret"));
  EXPECT_THAT(refused.message(), ::testing::Not(HasSubstr(forged.secret)));
  EXPECT_TRUE(creds_->UseToken(token, "node-a").ok());
}

TEST_F(CredentialStoreTest, UnknownTokenIsRefused) {
  security::JoinToken token = Token("node-a");
  token.id = "zzzzzz";
  EXPECT_THAT(creds_->UseToken(token, "node-a").message(), HasSubstr("unknown token"));
}

TEST_F(CredentialStoreTest, SecretIsNotStored) {
  security::JoinToken token = Token("node-a");
  auto stored = store_.Get(kKindJoinToken, token.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_THAT(stored->value, ::testing::Not(HasSubstr(token.secret)));
}

ferry::v1::CertificateRecord Record(const std::string& serial, const std::string& subject,
                                    const std::string& role) {
  ferry::v1::CertificateRecord r;
  r.set_serial(serial);
  r.set_subject(subject);
  r.set_role(role);
  return r;
}

TEST_F(CredentialStoreTest, RevokeMarksEverySerialOfTheSubjectAndRole) {
  ASSERT_TRUE(creds_->RecordCertificate(Record("a1", "node-a", "node")).ok());
  ASSERT_TRUE(creds_->RecordCertificate(Record("a2", "node-a", "node")).ok());
  ASSERT_TRUE(creds_->RecordCertificate(Record("u1", "node-a", "viewer")).ok());
  ASSERT_TRUE(creds_->RecordCertificate(Record("b1", "node-b", "node")).ok());
  auto revoked = creds_->Revoke("node-a", "node");
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(*revoked, 2);
  EXPECT_TRUE(creds_->IsRevoked("a1"));
  EXPECT_TRUE(creds_->IsRevoked("a2"));
  EXPECT_FALSE(creds_->IsRevoked("u1"));
  EXPECT_FALSE(creds_->IsRevoked("b1"));
}

TEST_F(CredentialStoreTest, RevocationSurvivesReopening) {
  ASSERT_TRUE(creds_->RecordCertificate(Record("a1", "alice", "editor")).ok());
  ASSERT_TRUE(creds_->Revoke("alice", "").ok());
  auto reopened = CredentialStore::Open(&store_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->IsRevoked("a1"));
}

}  // namespace
}  // namespace ferry::controller
