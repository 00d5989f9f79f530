// Webhook signatures: what a receiver gets to verify an alert came from
// Ferry, and how the shared secret is read.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/observability/webhook.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::observability {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr absl::Duration kWaitBound = absl::Seconds(5);

// Retries at once.
class NoSleep : public Sleeper {
 public:
  void SleepFor(absl::Duration) override {}
  void Wake() override {}
};

WebhookOptions FastOptions(Sleeper* sleeper) {
  WebhookOptions options;
  options.sleeper = sleeper;
  options.jitter = [] { return 1.0; };
  options.timeout = kWaitBound;
  return options;
}

// printf '1700000000.{"reason":"DriftDetected"}' |
//   openssl dgst -sha256 -hmac s3cret
constexpr char kDriftSignature[] =
    "sha256=049884402df23cc8b3567a9a5abc1fccb8e5dba0d7733e9502cfbbff6d4d790c";

// Captures what the notifier hands the transport.
struct CapturedRequest {
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

std::vector<CapturedRequest> PostOnceCapturing(WebhookOptions options, const std::string& body) {
  std::vector<CapturedRequest> captured;
  options.post = [&](const HttpUrl&, const HttpPostRequest& request, absl::Duration,
                     int) -> absl::StatusOr<int> {
    captured.push_back({std::string(request.body), request.headers});
    return 204;
  };
  WebhookNotifier notifier({"http://127.0.0.1:9/hook"}, options);
  EXPECT_TRUE(notifier.Start().ok());
  notifier.Notify(body);
  notifier.Stop(kWaitBound);
  return captured;
}

TEST(WebhookSigningTest, WithASecretSignsTimestampDotBody) {
  NoSleep sleeper;
  WebhookOptions options = FastOptions(&sleeper);
  options.secret = "s3cret";
  options.now = [] { return absl::FromUnixSeconds(1700000000); };

  std::vector<CapturedRequest> posts = PostOnceCapturing(options, R"({"reason":"DriftDetected"})");

  ASSERT_EQ(posts.size(), 1u);
  EXPECT_THAT(posts[0].headers, ElementsAre(Pair("X-Ferry-Timestamp", "1700000000"),
                                            Pair("X-Ferry-Signature", kDriftSignature)));
}

TEST(WebhookSigningTest, WithoutASecretSendsNoSignatureHeaders) {
  NoSleep sleeper;
  std::vector<CapturedRequest> posts = PostOnceCapturing(FastOptions(&sleeper), "{}");

  ASSERT_EQ(posts.size(), 1u);
  EXPECT_THAT(posts[0].headers, IsEmpty());
}

TEST(WebhookSigningTest, EachRetryIsSignedWithItsOwnTimestamp) {
  NoSleep sleeper;
  WebhookOptions options = FastOptions(&sleeper);
  options.secret = "s3cret";
  int64_t clock = 1700000000;
  options.now = [&clock] { return absl::FromUnixSeconds(clock++); };
  std::vector<CapturedRequest> captured;
  options.post = [&](const HttpUrl&, const HttpPostRequest& request, absl::Duration,
                     int) -> absl::StatusOr<int> {
    captured.push_back({std::string(request.body), request.headers});
    return captured.size() == 1 ? 503 : 200;
  };
  WebhookNotifier notifier({"http://127.0.0.1:9/hook"}, options);
  ASSERT_TRUE(notifier.Start().ok());

  notifier.Notify("{}");
  notifier.Stop(kWaitBound);

  ASSERT_EQ(captured.size(), 2u);
  EXPECT_EQ(captured[0].headers[0].second, "1700000000");
  EXPECT_EQ(captured[1].headers[0].second, "1700000001");
  EXPECT_EQ(captured[1].headers[1].second, WebhookSignature("s3cret", 1700000001, "{}"));
}

TEST(WebhookSignatureTest, IsHexHmacSha256OfTimestampDotBody) {
  EXPECT_EQ(WebhookSignature("s3cret", 1700000000, R"({"reason":"DriftDetected"})"),
            kDriftSignature);
}

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = absl::StrCat(::testing::TempDir(), "/ferry-secret-", getpid(), "-",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void Write(const std::string& contents) { std::ofstream(path_, std::ios::binary) << contents; }
  std::string path_;
};

TEST_F(SecretFileTest, TrailingNewlineIsNotPartOfTheSecret) {
  Write("s3cret\n");
  absl::StatusOr<std::string> secret = ReadWebhookSecretFile(path_, "--alert-webhook-secret-file");
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(*secret, "s3cret");
}

TEST_F(SecretFileTest, AnEmptyFileIsRefusedNamingTheFlagAndPath) {
  Write("\n");
  absl::StatusOr<std::string> secret = ReadWebhookSecretFile(path_, "--alert-webhook-secret-file");
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(secret.status().message(), HasSubstr("--alert-webhook-secret-file"));
  EXPECT_THAT(secret.status().message(), HasSubstr(path_));
}

TEST_F(SecretFileTest, AMissingFileIsRefused) {
  absl::StatusOr<std::string> secret = ReadWebhookSecretFile(path_, "--alert-webhook-secret-file");
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(secret.status().message(), HasSubstr(path_));
}

}  // namespace
}  // namespace ferry::observability
