// The controller's unix socket: created 0660 whatever the umask, never
// taken over from a live server (a stale socket is replaced, a file that is
// not a socket refused), and removed on stop only if still ours.

#include "controller/server/unix_listener.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "ferry/v1/ferry.grpc.pb.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

class PeerEcho : public ferry::v1::ResourceService::Service {
 public:
  grpc::Status Get(grpc::ServerContext* context, const ferry::v1::GetRequest*,
                   ferry::v1::Object* response) override {
    std::optional<uid_t> uid = UnixListener::PeerUid(context->peer());
    response->mutable_node()->mutable_metadata()->set_name(uid ? absl::StrCat("uid-", *uid)
                                                               : "unknown");
    return grpc::Status::OK;
  }
};

class UnixListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/ferry-unix-test.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/ferry.sock";
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string dir_, path_;
};

TEST_F(UnixListenerTest, SocketIsGroupReadableOnlyWhateverTheUmask) {
  mode_t old = ::umask(0);
  auto listener = UnixListener::Open(path_);
  ::umask(old);
  ASSERT_TRUE(listener.ok()) << listener.status();
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660);
}

TEST_F(UnixListenerTest, LiveServerIsNotTakenOverAndKeepsItsSocket) {
  auto first = UnixListener::Open(path_);
  ASSERT_TRUE(first.ok());
  auto second = UnixListener::Open(path_);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("another server is answering"));
  struct stat st;
  EXPECT_EQ(::stat(path_.c_str(), &st), 0) << "the live server's socket was removed";
}

TEST_F(UnixListenerTest, StopRemovesOnlyItsOwnSocket) {
  auto first = UnixListener::Open(path_);
  ASSERT_TRUE(first.ok());
  (*first)->Stop();
  // Another server now owns the path; stopping the first again leaves it.
  auto second = UnixListener::Open(path_);
  ASSERT_TRUE(second.ok()) << second.status();
  (*first)->Stop();
  struct stat st;
  EXPECT_EQ(::stat(path_.c_str(), &st), 0);
  (*second)->Stop();
  EXPECT_NE(::stat(path_.c_str(), &st), 0);
}

// What a crashed controller leaves behind: a socket file nobody serves.
TEST_F(UnixListenerTest, StaleSocketIsReplaced) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  ASSERT_TRUE(std::filesystem::exists(path_));
  auto listener = UnixListener::Open(path_);
  ASSERT_TRUE(listener.ok()) << listener.status();
  // The path now leads to the new listener: a connect is answered, where
  // the stale socket refused it.
  int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
      << std::strerror(errno);
  ::close(client);
  (*listener)->Stop();
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(UnixListenerTest, MissingPathIsFine) {
  auto listener = UnixListener::Open(dir_ + "/none.sock");
  EXPECT_TRUE(listener.ok()) << listener.status();
}

TEST_F(UnixListenerTest, RefusesToRemoveARegularFile) {
  { std::ofstream(path_) << "data"; }
  absl::Status status = UnixListener::Open(path_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("is not a socket"));
  EXPECT_TRUE(std::filesystem::exists(path_));
}

TEST_F(UnixListenerTest, CallsSeeThePeerUid) {
  auto listener = UnixListener::Open(path_);
  ASSERT_TRUE(listener.ok());
  PeerEcho service;
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  (*listener)->Start(server.get());
  auto stub = ferry::v1::ResourceService::NewStub(
      grpc::CreateChannel("unix:" + path_, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ferry::v1::Object response;
  grpc::Status status = stub->Get(&context, ferry::v1::GetRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.node().metadata().name(), absl::StrCat("uid-", ::geteuid()));
  (*listener)->Stop();
  server->Shutdown();
}

}  // namespace
}  // namespace ferry::controller
