// Spec: the node's key and certificates in --state-dir: written with
// explicit modes whatever the umask, replaced whole, checked before use,
// and due for renewal at 2/3 of their lifetime.

#include "node-agent/client/credential_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/unit/agent/scratch_dir.h"
#include "tests/unit/agent/test_pki.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;
using testing::Info;
using testing::ModeOf;
using testing::NodeIdentity;
using testing::ReadAll;
using testing::ScratchDir;
using testing::WriteAll;

class CredentialFilesTest : public ::testing::Test {
 protected:
  security::CertificateAuthority ca_ = testing::MakeCa();
  ScratchDir scratch_;
  std::string dir_ = scratch_ / "state";
};

TEST_F(CredentialFilesTest, StoreCreatesAPrivateDirAndKeyWhateverTheUmask) {
  const mode_t old_umask = umask(0);
  absl::Status status = StoreNodeCredentials(dir_, NodeIdentity(ca_, "node-a"));
  umask(old_umask);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(ModeOf(dir_), 0700);
  EXPECT_EQ(ModeOf(dir_ + "/node.key"), 0600);
  EXPECT_EQ(ModeOf(dir_ + "/node.crt"), 0644);
  EXPECT_EQ(ModeOf(dir_ + "/ca.crt"), 0644);
}

TEST_F(CredentialFilesTest, StoreTightensAnExistingLooseDir) {
  ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  ASSERT_TRUE(StoreNodeCredentials(dir_, NodeIdentity(ca_, "node-a")).ok());
  EXPECT_EQ(ModeOf(dir_), 0700);
}

TEST_F(CredentialFilesTest, ReadReturnsWhatStoreWroteAndLeavesNoTemporaries) {
  const NodeCredentials stored = NodeIdentity(ca_, "node-a");
  ASSERT_TRUE(StoreNodeCredentials(dir_, stored).ok());
  absl::StatusOr<NodeCredentials> read = ReadNodeCredentials(dir_);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->key_pem, stored.key_pem);
  EXPECT_EQ(read->cert_pem, stored.cert_pem);
  EXPECT_EQ(read->ca_pem, stored.ca_pem);
  for (const char* tmp : {"/node.key.tmp", "/node.crt.tmp", "/ca.crt.tmp"}) {
    EXPECT_EQ(ModeOf(dir_ + tmp), -1) << tmp;
  }
}

TEST_F(CredentialFilesTest, StoreReplacesAnEarlierIdentity) {
  ASSERT_TRUE(StoreNodeCredentials(dir_, NodeIdentity(ca_, "node-a")).ok());
  const NodeCredentials second = NodeIdentity(ca_, "node-a");
  ASSERT_TRUE(StoreNodeCredentials(dir_, second).ok());
  EXPECT_EQ(ReadAll(dir_ + "/node.key"), second.key_pem);
  EXPECT_EQ(ReadAll(dir_ + "/node.crt"), second.cert_pem);
}

TEST_F(CredentialFilesTest, ReadOfAMissingFileIsNotFoundNamingIt) {
  ASSERT_TRUE(StoreNodeCredentials(dir_, NodeIdentity(ca_, "node-a")).ok());
  ASSERT_EQ(unlink((dir_ + "/ca.crt").c_str()), 0);
  absl::StatusOr<NodeCredentials> read = ReadNodeCredentials(dir_);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(read.status().message(), HasSubstr("ca.crt"));
}

TEST_F(CredentialFilesTest, ReadCompletesAStoreInterruptedBeforeTheKeyWasRenamed) {
  const NodeCredentials old = NodeIdentity(ca_, "node-a");
  ASSERT_TRUE(StoreNodeCredentials(dir_, old).ok());
  // The crash: the new certificate is in place, its key still a temporary.
  const NodeCredentials fresh = NodeIdentity(ca_, "node-a");
  WriteAll(dir_ + "/node.crt", fresh.cert_pem);
  WriteAll(dir_ + "/node.key.tmp", fresh.key_pem);
  absl::StatusOr<NodeCredentials> read = ReadNodeCredentials(dir_);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->key_pem, fresh.key_pem);
  EXPECT_TRUE(CheckNodeCredentials(*read, "node-a", absl::Now()).ok());
  EXPECT_EQ(ModeOf(dir_ + "/node.key.tmp"), -1);
}

TEST_F(CredentialFilesTest, ReadIgnoresATemporaryKeyThatFitsNoCertificate) {
  const NodeCredentials old = NodeIdentity(ca_, "node-a");
  ASSERT_TRUE(StoreNodeCredentials(dir_, old).ok());
  WriteAll(dir_ + "/node.key.tmp", testing::NewKey());  // a store that died mid-way
  absl::StatusOr<NodeCredentials> read = ReadNodeCredentials(dir_);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->key_pem, old.key_pem);
}

TEST_F(CredentialFilesTest, CheckAcceptsTheNodesOwnValidIdentity) {
  EXPECT_TRUE(CheckNodeCredentials(NodeIdentity(ca_, "node-a"), "node-a", absl::Now()).ok());
}

TEST_F(CredentialFilesTest, CheckRefusesACertificateForAnotherNode) {
  absl::Status status = CheckNodeCredentials(NodeIdentity(ca_, "node-b"), "node-a", absl::Now());
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("node.crt is for node \"node-b\", not \"node-a\""));
}

TEST_F(CredentialFilesTest, CheckRefusesAKeyThatIsNotTheCertificates) {
  NodeCredentials credentials = NodeIdentity(ca_, "node-a");
  credentials.key_pem = testing::NewKey();
  EXPECT_THAT(CheckNodeCredentials(credentials, "node-a", absl::Now()).message(),
              HasSubstr("node.key is not the key of node.crt"));
}

TEST_F(CredentialFilesTest, CheckRefusesACertificateFromAnotherCa) {
  NodeCredentials credentials = NodeIdentity(testing::MakeCa("other-ca"), "node-a");
  credentials.ca_pem = ca_.cert_pem;
  EXPECT_THAT(CheckNodeCredentials(credentials, "node-a", absl::Now()).message(),
              HasSubstr("node.crt is not valid under ca.crt"));
}

TEST_F(CredentialFilesTest, CheckRefusesAnExpiredCertificate) {
  const NodeCredentials credentials = NodeIdentity(ca_, "node-a", absl::Hours(2));
  const absl::Time after = Info(credentials.cert_pem).not_after + absl::Minutes(1);
  EXPECT_THAT(CheckNodeCredentials(credentials, "node-a", after).message(),
              HasSubstr("node.crt is not valid under ca.crt"));
}

TEST_F(CredentialFilesTest, RenewalIsDueAtTwoThirdsOfTheLifetime) {
  security::CertificateInfo info;
  info.not_before = absl::FromUnixSeconds(0);
  info.not_after = absl::FromUnixSeconds(0) + absl::Hours(30 * 24);
  EXPECT_EQ(RenewalTime(info), absl::FromUnixSeconds(0) + absl::Hours(20 * 24));
}

}  // namespace
}  // namespace ferry::agent
