// Spec: an agent given several controller replicas ends up streaming with
// the leader: a follower's hint (UNAVAILABLE with trailing metadata
// ferry-leader) is followed at once, and an address where nothing listens
// hands over to the next one. In-process AgentServices on loopback, plain.

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "node-agent/client/controller_client.h"

namespace ferry::agent {
namespace {

using ferry::v1::AgentMessage;
using ferry::v1::ControllerMessage;

constexpr absl::Duration kWait = absl::Seconds(10);

// A follower: ends every stream at once, naming the leader if it knows one.
class FollowerService final : public ferry::v1::AgentService::Service {
 public:
  explicit FollowerService(std::string leader) : leader_(std::move(leader)) {}

  void set_self(std::string self) {
    absl::MutexLock lock(&mu_);
    self_ = std::move(self);
  }

  grpc::Status Sync(grpc::ServerContext* context,
                    grpc::ServerReaderWriter<ControllerMessage, AgentMessage>*) override {
    absl::MutexLock lock(&mu_);
    ++streams_;
    if (!leader_.empty()) context->AddTrailingMetadata(kLeaderMetadataKey, leader_);
    return grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        absl::StrCat("ferry-controller at ", self_, " is a follower; the leader is at ", leader_));
  }

  int streams() {
    absl::MutexLock lock(&mu_);
    return streams_;
  }

 private:
  const std::string leader_;
  absl::Mutex mu_;
  std::string self_ ABSL_GUARDED_BY(mu_);
  int streams_ ABSL_GUARDED_BY(mu_) = 0;
};

// The leader: keeps each stream open and counts the hellos on it.
class LeaderService final : public ferry::v1::AgentService::Service {
 public:
  grpc::Status Sync(grpc::ServerContext*,
                    grpc::ServerReaderWriter<ControllerMessage, AgentMessage>* stream) override {
    AgentMessage message;
    while (stream->Read(&message)) {
      if (!message.has_hello()) continue;
      absl::MutexLock lock(&mu_);
      ++hellos_;
    }
    return grpc::Status::OK;
  }

  bool WaitForHello() {
    absl::MutexLock lock(&mu_);
    auto arrived = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return hellos_ > 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&arrived), kWait);
  }

 private:
  absl::Mutex mu_;
  int hellos_ ABSL_GUARDED_BY(mu_) = 0;
};

// Serves `service` on 127.0.0.1 at a port of the kernel's choice.
std::unique_ptr<grpc::Server> Serve(grpc::Service* service, std::string* address) {
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  *address = absl::StrCat("127.0.0.1:", port);
  return server;
}

// A loopback port that is bound but not listening, held for the test:
// every connection to it is refused, and no other process can take it.
class DeadPort {
 public:
  DeadPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      address_ = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
    }
  }
  ~DeadPort() {
    if (fd_ >= 0) close(fd_);
  }
  DeadPort(const DeadPort&) = delete;
  DeadPort& operator=(const DeadPort&) = delete;

  const std::string& address() const { return address_; }  // empty if binding failed

 private:
  int fd_ = -1;
  std::string address_;
};

class ControllerFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    leader_server_ = Serve(&leader_, &leader_address_);
    ASSERT_NE(leader_server_, nullptr);
    follower_ = std::make_unique<FollowerService>(leader_address_);
    follower_server_ = Serve(follower_.get(), &follower_address_);
    ASSERT_NE(follower_server_, nullptr);
    follower_->set_self(follower_address_);
  }

  void TearDown() override {
    if (client_ != nullptr) client_->Stop();
    if (run_.joinable()) run_.join();
    for (grpc::Server* server : {follower_server_.get(), leader_server_.get()}) {
      if (server == nullptr) continue;
      server->Shutdown(std::chrono::system_clock::now());
      server->Wait();
    }
  }

  // Runs a client for `targets`. `first_backoff` is the wait before an
  // attempt that follows no leader.
  void StartClient(std::vector<std::string> targets, absl::Duration first_backoff) {
    ControllerClient::Options options;
    options.targets = std::move(targets);
    options.node_name = "node-a";
    options.agent_version = "test";
    options.backoff.initial = first_backoff;
    options.backoff.max = std::max(first_backoff, absl::Milliseconds(200));
    options.on_connected = [this] {
      absl::MutexLock lock(&mu_);
      connected_.push_back(client_->connected_controller());
    };
    client_ = std::make_unique<ControllerClient>(
        options, [](const ferry::v1::NodeConfig&) { return absl::OkStatus(); }, [] { return 0.5; });
    run_ = std::thread([this] { client_->Run(); });
  }

  // Whether the client says it is connected to `target`, within kWait.
  bool WaitConnectedTo(const std::string& target) {
    absl::MutexLock lock(&mu_);
    auto connected = [this, &target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::find(connected_.begin(), connected_.end(), target) != connected_.end();
    };
    return mu_.AwaitWithTimeout(absl::Condition(&connected), kWait);
  }

  LeaderService leader_;
  std::unique_ptr<FollowerService> follower_;
  std::unique_ptr<grpc::Server> leader_server_;
  std::unique_ptr<grpc::Server> follower_server_;
  std::string leader_address_;
  std::string follower_address_;
  std::unique_ptr<ControllerClient> client_;
  std::thread run_;
  absl::Mutex mu_;
  std::vector<std::string> connected_ ABSL_GUARDED_BY(mu_);  // by on_connected
};

// The backoff is far beyond the wait: only the hint can get the agent to
// the leader in time.
TEST_F(ControllerFailoverTest, AFollowerListedFirstSendsTheAgentToTheLeaderAtOnce) {
  StartClient({follower_address_, leader_address_}, absl::Seconds(60));
  ASSERT_TRUE(leader_.WaitForHello());
  EXPECT_TRUE(WaitConnectedTo(leader_address_));
  EXPECT_EQ(client_->connected_controller(), leader_address_);
  EXPECT_GE(follower_->streams(), 1);
}

TEST_F(ControllerFailoverTest, AFollowerAloneInTheListNamesTheLeaderToFollow) {
  StartClient({follower_address_}, absl::Seconds(60));
  ASSERT_TRUE(leader_.WaitForHello());
  EXPECT_TRUE(WaitConnectedTo(leader_address_));
  EXPECT_EQ(follower_->streams(), 1);
}

TEST_F(ControllerFailoverTest, AnAddressWhereNothingListensHandsOverToTheNext) {
  DeadPort dead;
  ASSERT_FALSE(dead.address().empty());
  StartClient({dead.address(), leader_address_}, absl::Milliseconds(10));
  ASSERT_TRUE(leader_.WaitForHello());
  EXPECT_TRUE(WaitConnectedTo(leader_address_));
}

TEST_F(ControllerFailoverTest, AFollowerThatKnowsNoLeaderHandsOverToTheNext) {
  FollowerService lost("");
  std::string lost_address;
  std::unique_ptr<grpc::Server> lost_server = Serve(&lost, &lost_address);
  ASSERT_NE(lost_server, nullptr);
  lost.set_self(lost_address);
  StartClient({lost_address, leader_address_}, absl::Milliseconds(10));
  const bool hello = leader_.WaitForHello();
  client_->Stop();
  run_.join();
  lost_server->Shutdown(std::chrono::system_clock::now());
  lost_server->Wait();
  EXPECT_TRUE(hello);
  EXPECT_EQ(lost.streams(), 1);
}

}  // namespace
}  // namespace ferry::agent
