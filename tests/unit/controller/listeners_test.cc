#include "controller/server/listeners.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Uris(const std::vector<ListenAddress>& addresses) {
  std::vector<std::string> out;
  for (const auto& a : addresses) out.push_back(a.grpc_uri);
  return out;
}

TEST(ListenersTest, CommaSeparatedAndRepeatedValuesAreAllParsed) {
  auto parsed = ParseListenAddresses({"127.0.0.1:7443,unix:/tmp/x.sock", "[::1]:0"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(Uris(*parsed), ElementsAre("127.0.0.1:7443", "unix:/tmp/x.sock", "[::1]:0"));
  EXPECT_EQ((*parsed)[1].unix_path, "/tmp/x.sock");
  EXPECT_EQ((*parsed)[0].unix_path, "");
}

TEST(ListenersTest, UnixUriWithTripleSlashNamesAbsolutePath) {
  auto parsed = ParseListenAddresses({"unix:///run/ferry.sock"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)[0].unix_path, "/run/ferry.sock");
}

TEST(ListenersTest, MissingPortIsRejectedNamingTheEntry) {
  auto parsed = ParseListenAddresses({"127.0.0.1:7443,10.0.0.1"});
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("\"10.0.0.1\""));
}

TEST(ListenersTest, BadPortAndEmptyUnixPathAreRejected) {
  EXPECT_FALSE(ParseListenAddresses({"127.0.0.1:99999"}).ok());
  EXPECT_FALSE(ParseListenAddresses({"127.0.0.1:http"}).ok());
  EXPECT_FALSE(ParseListenAddresses({"unix:"}).ok());
  EXPECT_FALSE(ParseListenAddresses({"::1:80"}).ok());
  EXPECT_FALSE(ParseListenAddresses({}).ok());
}

TEST(ListenersTest, CollectFlagValuesGathersEveryOccurrenceBeforeDoubleDash) {
  const char* argv[] = {"prog",     "--listen=a", "-listen", "b",         "--other=x",
                        "--listen", "c",          "--",      "--listen=d"};
  auto values = CollectFlagValues(9, const_cast<char**>(argv), "listen");
  EXPECT_THAT(values, ElementsAre("a", "b", "c"));
}

TEST(ListenersTest, CollectFlagValuesIgnoresFlagsWithLongerNames) {
  const char* argv[] = {"prog", "--listen_backlog=5", "--listen=a"};
  EXPECT_THAT(CollectFlagValues(3, const_cast<char**>(argv), "listen"), ElementsAre("a"));
}

TEST(ListenersTest, NormalizeFlagDashesRewritesNamesOnly) {
  const char* argv[] = {"prog", "--data-dir=/var/lib/a-b", "--data-dir", "x-y", "--", "--a-b"};
  auto args = NormalizeFlagDashes(6, const_cast<char**>(argv));
  EXPECT_THAT(args,
              ElementsAre("prog", "--data_dir=/var/lib/a-b", "--data_dir", "x-y", "--", "--a-b"));
}

}  // namespace
}  // namespace ferry::controller
