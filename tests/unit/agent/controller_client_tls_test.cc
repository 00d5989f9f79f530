// Spec: the agent's stream over mutual TLS, against an in-process
// AgentService on loopback that requires a client certificate from the
// node's CA: the node is identified by its certificate (no header), and a
// restarted controller is reached again within a few seconds.

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "node-agent/client/controller_client.h"
#include "node-agent/client/tls_channel.h"
#include "tests/unit/agent/scratch_dir.h"
#include "tests/unit/agent/test_pki.h"

namespace ferry::agent {
namespace {

using ferry::v1::AgentMessage;
using ferry::v1::ControllerMessage;

// Records, per stream, the peer certificate's CN and the header if any.
class PeerRecordingService final : public ferry::v1::AgentService::Service {
 public:
  grpc::Status Sync(grpc::ServerContext* context,
                    grpc::ServerReaderWriter<ControllerMessage, AgentMessage>* stream) override {
    std::string common_name;
    for (const grpc::string_ref& cn :
         context->auth_context()->FindPropertyValues("x509_common_name")) {
      common_name.assign(cn.data(), cn.size());
    }
    const bool header = context->client_metadata().count(kNodeMetadataKey) > 0;
    AgentMessage message;
    while (stream->Read(&message)) {
      if (!message.has_hello()) continue;
      absl::MutexLock lock(&mu_);
      peers_.push_back(header ? "header:" + common_name : common_name);
    }
    return grpc::Status::OK;
  }

  // The n-th hello's peer (1-based), waiting up to `timeout`.
  std::optional<std::string> WaitForHello(size_t n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto arrived = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return peers_.size() >= n; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&arrived), timeout)) return std::nullopt;
    return peers_[n - 1];
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> peers_ ABSL_GUARDED_BY(mu_);
};

// Holds 127.0.0.1:`port` while the controller is down, closing every
// connection at once, as a port with a dying or starting server does; the
// client's attempts fail and its reconnect backoff grows. Returns how many
// attempts it saw (it stops at `attempts`, or after 15 s).
int RefuseConnections(int port, int attempts) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int seen = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && listen(fd, 8) == 0) {
    pollfd p{fd, POLLIN, 0};
    while (seen < attempts && poll(&p, 1, 15000) == 1) {
      const int conn = accept(fd, nullptr, nullptr);
      if (conn >= 0) close(conn);
      ++seen;
    }
  }
  close(fd);
  return seen;
}

class ControllerClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_key_ = testing::NewKey();
    server_cert_ = testing::Sign(ca_, server_key_, "ferry-controller", "", /*server=*/true,
                                 absl::Hours(24), {"127.0.0.1"});
    ASSERT_TRUE(StoreNodeCredentials(dir_, testing::NodeIdentity(ca_, "node-a")).ok());
    StartServer(0);
    ASSERT_NE(port_, 0);
  }

  void TearDown() override {
    if (client_ != nullptr) client_->Stop();
    if (run_.joinable()) run_.join();
    StopServer();
  }

  void StartServer(int port) {
    grpc::SslServerCredentialsOptions options(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_root_certs = ca_.cert_pem;
    options.pem_key_cert_pairs.push_back({server_key_, server_cert_});
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port),
                             grpc::SslServerCredentials(options), &port_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  void StopServer() {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
  }

  void StartClient() {
    ControllerClient::Options options;
    options.targets = {"127.0.0.1:" + std::to_string(port_)};
    options.node_name = "node-a";
    options.agent_version = "test";
    options.credentials = [this] { return credentials_.Get(); };
    client_ = std::make_unique<ControllerClient>(
        options, [](const ferry::v1::NodeConfig&) { return absl::OkStatus(); }, [] { return 0.5; });
    run_ = std::thread([this] { client_->Run(); });
  }

  security::CertificateAuthority ca_ = testing::MakeCa();
  std::string server_key_;
  std::string server_cert_;
  testing::ScratchDir scratch_;
  std::string dir_ = scratch_ / "state";
  StateDirCredentials credentials_{dir_, "node-a"};
  PeerRecordingService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ControllerClient> client_;
  std::thread run_;
};

TEST_F(ControllerClientTlsTest, TheNodeIsKnownByItsCertificateAndSendsNoHeader) {
  StartClient();
  EXPECT_EQ(service_.WaitForHello(1, absl::Seconds(10)), "node-a");
}

TEST_F(ControllerClientTlsTest, ARestartedControllerIsReachedAgainWithinSeconds) {
  // The attempts refused while it is down make the client back off first.
  // (What made this take ~30 s across processes, handshakes polled only by
  // gRPC's 5 s backup poller, does not show in one process: the server's
  // threads poll the client's sockets too. ferry-agent against a restarted
  // ferry-controller is where that was seen and fixed.)
  StartClient();
  ASSERT_TRUE(service_.WaitForHello(1, absl::Seconds(10)).has_value());
  const int port = port_;
  StopServer();
  ASSERT_EQ(RefuseConnections(port, 4), 4);
  StartServer(port);
  ASSERT_EQ(port_, port);
  EXPECT_EQ(service_.WaitForHello(2, absl::Seconds(5)), "node-a");
}

}  // namespace
}  // namespace ferry::agent
