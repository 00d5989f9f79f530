// Inputs the fuzzer found (tests/fuzz/findings/manifest/) that made
// yaml-cpp 0.7 return empty documents forever (jbeder/yaml-cpp#1040): each
// is now a positioned error, returned within a bounded time.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/lib/manifest.h"
#include "api/lib/yaml_tree.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::api {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A regression would spin and allocate without bound; nothing can stop
// that thread, so a timeout ends the whole binary with a clear message.
absl::Status DecodeWithinBoundedTime(const std::string& input) {
  std::future<absl::Status> result =
      std::async(std::launch::async, [input] { return DecodeManifests(input, "test").status(); });
  if (result.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    std::fprintf(stderr, "DecodeManifests did not return within 20s\n");
    std::abort();
  }
  return result.get();
}

TEST(YamlRegressionTest, LeadingCommaIsAnErrorAtTheComma) {
  const absl::Status s = DecodeWithinBoundedTime(",aprsiN1ferry3aLOer");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), StartsWith("test:1:1: unexpected ','"));
}

TEST(YamlRegressionTest, CommaStartingALineIsAnErrorAtTheComma) {
  const absl::Status s = DecodeWithinBoundedTime(
      "# The .googleapis.com/ferry.v1.ObjewebsourceIP: Preserve), so the\n"
      ", web s8080\n"
      "  - protocol: UDP\n"
      "    port: 5353\n"
      "    targetPort: 8080\n"
      "  sourceIP: Prese\x01se\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), StartsWith("test:2:1: unexpected ','"));
}

TEST(YamlRegressionTest, CommaAfterAValidDocumentIsAnErrorAtTheComma) {
  const absl::Status s = DecodeWithinBoundedTime("a: 1\n---\n, b\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), StartsWith("test:3:1: unexpected ','"));
}

TEST(YamlRegressionTest, QuotedTextStartingWithACommaIsAccepted) {
  absl::StatusOr<YamlStream> stream = ParseYamlStream("a: ', b'\n", "test");
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_EQ(stream->documents.size(), 1u);
  EXPECT_EQ(stream->documents[0].root->Find("a")->value, ", b");
}

TEST(YamlRegressionTest, DocumentsUpToTheLimitAreAccepted) {
  YamlLimits limits;
  limits.max_documents = 3;
  absl::StatusOr<YamlStream> stream =
      ParseYamlStream("a: 1\n---\nb: 2\n---\nc: 3\n", "test", limits);
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ(stream->documents.size(), 3u);
}

TEST(YamlRegressionTest, DocumentsBeyondTheLimitAreAnErrorAtTheFirstExtra) {
  YamlLimits limits;
  limits.max_documents = 3;
  absl::StatusOr<YamlStream> stream =
      ParseYamlStream("a: 1\n---\nb: 2\n---\nc: 3\n---\nd: 4\n", "test", limits);
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(stream.status().message()), StartsWith("test:6:1: "));
  EXPECT_THAT(std::string(stream.status().message()), HasSubstr("more than 3 documents"));
}

}  // namespace
}  // namespace ferry::api
