// Spec: at start over TCP the agent uses the identity it keeps if it is
// this node's, joins with the token otherwise (retrying only while the
// controller cannot be reached), and without either says what to do.

#include "node-agent/client/node_identity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/agent/scratch_dir.h"
#include "tests/unit/agent/test_pki.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;
using testing::NodeIdentity;
using testing::ScratchDir;

class NodeIdentityTest : public ::testing::Test {
 protected:
  IdentityOptions Options(std::string token = "") {
    IdentityOptions options;
    options.state_dir = dir_;
    options.node_name = "node-a";
    options.join_token = std::move(token);
    options.backoff = {absl::Seconds(1), 2.0, absl::Seconds(30), 0.0};
    return options;
  }

  // Returns the queued results in order; then fails the test.
  JoinFunction Join() {
    return [this]() -> absl::StatusOr<NodeCredentials> {
      ++joins_;
      if (results_.empty()) {
        ADD_FAILURE() << "unexpected join";
        return absl::InternalError("unexpected join");
      }
      absl::StatusOr<NodeCredentials> next = results_.front();
      results_.erase(results_.begin());
      return next;
    };
  }

  SleepFunction Sleep(bool keep_going = true) {
    return [this, keep_going](absl::Duration d) {
      sleeps_.push_back(d);
      return keep_going;
    };
  }

  security::CertificateAuthority ca_ = testing::MakeCa();
  ScratchDir scratch_;
  std::string dir_ = scratch_ / "state";
  std::vector<absl::StatusOr<NodeCredentials>> results_;
  std::vector<absl::Duration> sleeps_;
  int joins_ = 0;
};

TEST_F(NodeIdentityTest, UsesTheStoredIdentityWithoutJoining) {
  const NodeCredentials stored = NodeIdentity(ca_, "node-a");
  ASSERT_TRUE(StoreNodeCredentials(dir_, stored).ok());
  absl::StatusOr<NodeCredentials> got =
      LoadOrJoin(Options("ferry1.token"), absl::Now(), Join(), Sleep());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->cert_pem, stored.cert_pem);
  EXPECT_EQ(joins_, 0);
}

TEST_F(NodeIdentityTest, WithoutFilesOrTokenTellsHowToGetAToken) {
  absl::StatusOr<NodeCredentials> got = LoadOrJoin(Options(), absl::Now(), Join(), Sleep());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(got.status().message(),
              HasSubstr("no credentials in " + dir_ +
                        " and no --join-token: create one with `ferryctl token create --node "
                        "node-a`"));
}

TEST_F(NodeIdentityTest, AnotherNodesFilesWithoutATokenSayWhatIsWrong) {
  ASSERT_TRUE(StoreNodeCredentials(dir_, NodeIdentity(ca_, "node-b")).ok());
  absl::StatusOr<NodeCredentials> got = LoadOrJoin(Options(), absl::Now(), Join(), Sleep());
  EXPECT_THAT(got.status().message(), HasSubstr("cannot be used (node.crt is for node \"node-b\""));
  EXPECT_THAT(got.status().message(), HasSubstr("ferryctl token create --node node-a"));
}

TEST_F(NodeIdentityTest, JoinsWithTheTokenAndStoresTheIdentity) {
  const NodeCredentials joined = NodeIdentity(ca_, "node-a");
  results_ = {joined};
  absl::StatusOr<NodeCredentials> got =
      LoadOrJoin(Options("ferry1.token"), absl::Now(), Join(), Sleep());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(joins_, 1);
  EXPECT_EQ(testing::ReadAll(dir_ + "/node.crt"), joined.cert_pem);
  EXPECT_EQ(testing::ModeOf(dir_ + "/node.key"), 0600);
}

TEST_F(NodeIdentityTest, AnIdentityForAnotherNodeIsReplacedByJoining) {
  ASSERT_TRUE(StoreNodeCredentials(dir_, NodeIdentity(ca_, "node-b")).ok());
  const NodeCredentials joined = NodeIdentity(ca_, "node-a");
  results_ = {joined};
  ASSERT_TRUE(LoadOrJoin(Options("ferry1.token"), absl::Now(), Join(), Sleep()).ok());
  EXPECT_EQ(testing::ReadAll(dir_ + "/node.crt"), joined.cert_pem);
}

TEST_F(NodeIdentityTest, AnUnreachableControllerIsRetriedWithBackoff) {
  results_ = {absl::UnavailableError("connection refused"), absl::DeadlineExceededError("deadline"),
              NodeIdentity(ca_, "node-a")};
  ASSERT_TRUE(LoadOrJoin(Options("ferry1.token"), absl::Now(), Join(), Sleep()).ok());
  EXPECT_EQ(joins_, 3);
  EXPECT_EQ(sleeps_, (std::vector<absl::Duration>{absl::Seconds(1), absl::Seconds(2)}));
}

TEST_F(NodeIdentityTest, ARefusedTokenIsNotRetriedAndNothingIsStored) {
  results_ = {absl::PermissionDeniedError("join token was already used")};
  absl::StatusOr<NodeCredentials> got =
      LoadOrJoin(Options("ferry1.token"), absl::Now(), Join(), Sleep());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(got.status().message(), HasSubstr("already used"));
  EXPECT_EQ(joins_, 1);
  EXPECT_TRUE(sleeps_.empty());
  EXPECT_EQ(testing::ModeOf(dir_ + "/node.key"), -1);
}

TEST_F(NodeIdentityTest, AStopWhileWaitingToRetryEndsTheJoin) {
  results_ = {absl::UnavailableError("connection refused")};
  absl::StatusOr<NodeCredentials> got =
      LoadOrJoin(Options("ferry1.token"), absl::Now(), Join(), Sleep(/*keep_going=*/false));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace ferry::agent
