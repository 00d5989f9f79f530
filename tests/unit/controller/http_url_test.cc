// ParseHttpUrl: which --alert-webhook URLs are accepted, and how a refusal
// names the flag and the URL.

#include <string>

#include "absl/strings/str_cat.h"
#include "api/observability/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::observability {
namespace {

using ::testing::HasSubstr;

TEST(ParseHttpUrlTest, AcceptsIpv6LiteralWithPortAndQuery) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl("http://[::1]:8080/a?b=c", "f");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->path, "/a?b=c");
}

TEST(ParseHttpUrlTest, DefaultsToPort80AndRootPath) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl("http://alerts.example", "f");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "alerts.example");
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->path, "/");
}

TEST(ParseHttpUrlTest, HttpsDefaultsToPort443) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl("https://alerts.example/x", "f");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_TRUE(url->https);
  EXPECT_EQ(url->host, "alerts.example");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->path, "/x");
}

TEST(ParseHttpUrlTest, SchemeIsCaseInsensitive) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl("HTTPS://h:8443", "f");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_TRUE(url->https);
  EXPECT_EQ(url->port, 8443);
}

TEST(ParseHttpUrlTest, QueryWithoutPathAndFragmentAreHandled) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl("http://h:81?a=b#frag", "f");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "h");
  EXPECT_EQ(url->port, 81);
  EXPECT_EQ(url->path, "/?a=b");
}

TEST(ParseHttpUrlTest, RefusesEveryControlCharacterNamingTheUrl) {
  for (char c : {'\0', '\t', '\n', '\r', '\x1f', '\x7f'}) {
    std::string text = absl::StrCat("http://h/a", std::string(1, c), "b");
    absl::StatusOr<HttpUrl> url = ParseHttpUrl(text, "--alert-webhook");
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument) << static_cast<int>(c);
    EXPECT_THAT(url.status().message(), HasSubstr("--alert-webhook"));
    EXPECT_THAT(url.status().message(), HasSubstr("http://h/a"));
    EXPECT_THAT(url.status().message(), HasSubstr("control character"));
  }
}

TEST(ParseHttpUrlTest, RefusesASpaceNamingTheUrl) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl("http://h/a b", "--alert-webhook");
  EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(url.status().message(), HasSubstr("\"http://h/a b\""));
  EXPECT_THAT(url.status().message(), HasSubstr("%20"));
}

TEST(ParseHttpUrlTest, RefusesOtherSchemes) {
  for (const char* text : {"ftp://h/x", "file:///etc/passwd", "h:80/x", "javascript:alert(1)"}) {
    absl::StatusOr<HttpUrl> url = ParseHttpUrl(text, "--alert-webhook");
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(url.status().message(), HasSubstr(text));
  }
}

TEST(ParseHttpUrlTest, RejectsABadPortNamingTheField) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl("http://h:99999/x", "--alert-webhook");
  EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(url.status().message(), HasSubstr("--alert-webhook"));
}

}  // namespace
}  // namespace ferry::observability
