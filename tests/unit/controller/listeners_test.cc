#include "controller/server/listeners.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "controller/server/unix_listener.h"
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

class StaleSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/ferry-sock-", getpid());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(StaleSocketTest, RemovesASocketFile) {
  std::string path = dir_ + "/c.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  ASSERT_TRUE(std::filesystem::exists(path));
  // A socket nobody serves is replaced by the new listener's own.
  auto listener = UnixListener::Open(path);
  ASSERT_TRUE(listener.ok()) << listener.status();
  (*listener)->Stop();
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(StaleSocketTest, MissingPathIsFine) {
  auto listener = UnixListener::Open(dir_ + "/none.sock");
  EXPECT_TRUE(listener.ok()) << listener.status();
}

TEST_F(StaleSocketTest, RefusesToRemoveARegularFile) {
  std::string path = dir_ + "/precious";
  { std::ofstream(path) << "data"; }
  absl::Status status = UnixListener::Open(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace ferry::controller
