// Spec: the agent's stream to the controller, against an in-process fake
// AgentService on a unix socket.

#include "node-agent/client/controller_client.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "api/lib/sync_protocol.h"

namespace ferry::agent {
namespace {

using ferry::v1::AgentMessage;
using ferry::v1::ControllerMessage;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(10);

// Records what agents send and pushes to the current stream on demand.
class FakeAgentService final : public ferry::v1::AgentService::Service {
 public:
  grpc::Status Sync(grpc::ServerContext* context,
                    grpc::ServerReaderWriter<ControllerMessage, AgentMessage>* stream) override {
    std::string node;
    auto it = context->client_metadata().find(kNodeMetadataKey);
    if (it != context->client_metadata().end()) node.assign(it->second.data(), it->second.size());
    {
      absl::MutexLock lock(&mu_);
      identities_.push_back(node);
      stream_ = stream;
    }
    AgentMessage message;
    while (stream->Read(&message)) {
      absl::MutexLock lock(&mu_);
      received_.push_back(message);
      changed_.SignalAll();
    }
    absl::MutexLock lock(&mu_);
    stream_ = nullptr;
    return grpc::Status::OK;
  }

  bool Push(absl::string_view nonce, const ferry::v1::NodeConfig& config) {
    ControllerMessage message;
    message.mutable_push()->set_nonce(std::string(nonce));
    *message.mutable_push()->mutable_config() = config;
    absl::MutexLock lock(&mu_);
    return stream_ != nullptr && stream_->Write(message);
  }

  bool PushDelta(absl::string_view nonce, const ferry::v1::NodeConfigDelta& delta) {
    ControllerMessage message;
    message.mutable_push()->set_nonce(std::string(nonce));
    *message.mutable_push()->mutable_delta() = delta;
    absl::MutexLock lock(&mu_);
    return stream_ != nullptr && stream_->Write(message);
  }

  bool Plan(absl::string_view nonce, const ferry::v1::NodeConfig& config) {
    ControllerMessage message;
    message.mutable_plan()->set_nonce(std::string(nonce));
    *message.mutable_plan()->mutable_config() = config;
    absl::MutexLock lock(&mu_);
    return stream_ != nullptr && stream_->Write(message);
  }

  // Waits (bounded) for the n-th received message (1-based) matching `pred`.
  std::optional<AgentMessage> WaitFor(std::function<bool(const AgentMessage&)> pred, int n = 1) {
    const absl::Time deadline = absl::Now() + kWait;
    absl::MutexLock lock(&mu_);
    while (true) {
      int seen = 0;
      for (const AgentMessage& m : received_) {
        if (pred(m) && ++seen == n) return m;
      }
      if (changed_.WaitWithDeadline(&mu_, deadline)) return std::nullopt;
    }
  }

  std::vector<std::string> identities() {
    absl::MutexLock lock(&mu_);
    return identities_;
  }

  std::vector<AgentMessage> received() {
    absl::MutexLock lock(&mu_);
    return received_;
  }

 private:
  absl::Mutex mu_;
  absl::CondVar changed_;
  grpc::ServerReaderWriter<ControllerMessage, AgentMessage>* stream_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::vector<AgentMessage> received_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> identities_ ABSL_GUARDED_BY(mu_);
};

bool IsHello(const AgentMessage& m) { return m.has_hello(); }
bool IsAck(const AgentMessage& m) { return m.has_ack(); }
bool IsAddresses(const AgentMessage& m) { return m.has_addresses(); }
bool IsPlan(const AgentMessage& m) { return m.has_plan(); }

ferry::v1::NodeConfig Config(absl::string_view version) {
  ferry::v1::NodeConfig config;
  config.set_version(std::string(version));
  return config;
}

class ControllerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir_template = ::testing::TempDir() + "fx-agent-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template.data()), nullptr);
    dir_ = dir_template;
    target_ = "unix:" + dir_ + "/controller.sock";
    StartServer();

    ControllerClient::Options options;
    options.targets = {target_};
    options.node_name = "node-a";
    options.labels = {{"zone", "eu"}};
    options.agent_version = "test";
    options.backoff.initial = absl::Milliseconds(10);
    options.backoff.max = absl::Milliseconds(200);
    options.forward_errors = [this] { return forward_errors_; };
    options.holds_last_applied = [this] { return !kernel_partial_.load(); };
    options.on_applied = [this] {
      // Only where a test looks at it: the wait below holds the client's
      // thread, and a test that restarts the server would otherwise race
      // with it (it waits on whichever service is current, up to 10 s).
      if (!watch_on_applied_) return;
      // Were the hook to run before the ACK is written, this wait would
      // find none (the agent's recheck holds the reconciler the same way).
      const int n = static_cast<int>(on_applied_saw_ack_.size()) + 1;
      on_applied_saw_ack_.push_back(service_->WaitFor(IsAck, n).has_value());
    };
    options.plan = [this](const ferry::v1::NodeConfig& c) { return plan_result_(c); };
    options_ = options;
    Remake();
  }

  // (Re)makes client_ from options_, before StartClient.
  void Remake() {
    client_ = std::make_unique<ControllerClient>(
        options_, [this](const ferry::v1::NodeConfig& c) { return apply_result_(c); },
        [this](const ferry::v1::NodeConfigDelta& d) {
          delta_versions_.push_back(d.version());
          return apply_delta_result_(d);
        },
        [] { return 0.5; });
  }

  void TearDown() override {
    client_->Stop();
    if (run_.joinable()) run_.join();
    StopServer();
    unlink((dir_ + "/controller.sock").c_str());
    rmdir(dir_.c_str());
  }

  void StartServer() {
    service_ = std::make_unique<FakeAgentService>();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(target_, grpc::InsecureServerCredentials());
    builder.RegisterService(service_.get());
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
    run_ = std::thread([this] { client_->Run(); });
  }

  std::string dir_;
  std::string target_;
  std::unique_ptr<FakeAgentService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::function<absl::Status(const ferry::v1::NodeConfig&)> apply_result_ =
      [](const ferry::v1::NodeConfig&) { return absl::OkStatus(); };
  std::function<absl::Status(const ferry::v1::NodeConfigDelta&)> apply_delta_result_ =
      [](const ferry::v1::NodeConfigDelta&) { return absl::OkStatus(); };
  std::function<absl::StatusOr<std::vector<std::string>>(const ferry::v1::NodeConfig&)>
      plan_result_ = [](const ferry::v1::NodeConfig& c) {
        return std::vector<std::string>{absl::StrCat("+ version ", c.version())};
      };
  std::vector<std::string> delta_versions_;  // written by the client's thread before it ACKs
  std::map<std::string, std::string> forward_errors_;  // set before the push that reports them
  std::vector<bool> on_applied_saw_ack_;               // written by the client's thread
  std::atomic<bool> watch_on_applied_{false};
  std::atomic<bool> kernel_partial_{false};
  ControllerClient::Options options_;  // what client_ was made with
  std::unique_ptr<ControllerClient> client_;
  std::thread run_;
};

ferry::v1::NodeConfigDelta Delta(absl::string_view base, absl::string_view version) {
  ferry::v1::NodeConfigDelta delta;
  delta.set_base_version(std::string(base));
  delta.set_version(std::string(version));
  return delta;
}

TEST_F(ControllerClientTest, HelloCarriesIdentityMetadataLabelsAndAddresses) {
  ferry::v1::NodeAddress address;
  address.set_interface("wg0");
  address.set_address("10.8.0.1");
  address.set_prefix_length(24);
  client_->UpdateAddresses({address});
  StartClient();
  std::optional<AgentMessage> hello = service_->WaitFor(IsHello);
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(service_->identities().at(0), "node-a");
  EXPECT_EQ(hello->hello().node_name(), "node-a");
  EXPECT_EQ(hello->hello().labels().at("zone"), "eu");
  ASSERT_EQ(hello->hello().addresses_size(), 1);
  EXPECT_EQ(hello->hello().addresses(0).address(), "10.8.0.1");
}

TEST_F(ControllerClientTest, AcceptedPushIsAckedWithItsNonceAndVersion) {
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ASSERT_TRUE(service_->Push("nonce-1", Config("v1")));
  std::optional<AgentMessage> ack = service_->WaitFor(IsAck);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->ack().nonce(), "nonce-1");
  EXPECT_EQ(ack->ack().version(), "v1");
  EXPECT_TRUE(ack->ack().accepted());
  EXPECT_EQ(client_->last_applied_version(), "v1");
}

TEST_F(ControllerClientTest, OnAppliedRunsAfterTheAckIsSentAndNotForANack) {
  watch_on_applied_ = true;
  int calls = 0;
  apply_result_ = [&calls](const ferry::v1::NodeConfig&) {
    return ++calls == 1 ? absl::OkStatus() : absl::InvalidArgumentError("bad");
  };
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ASSERT_TRUE(service_->Push("a", Config("v1")));
  ASSERT_TRUE(service_->Push("b", Config("v2")));
  std::optional<AgentMessage> nack = service_->WaitFor(IsAck, 2);
  ASSERT_TRUE(nack.has_value());
  EXPECT_FALSE(nack->ack().accepted());
  client_->Stop();
  run_.join();  // the client's thread is done with on_applied_saw_ack_
  EXPECT_EQ(on_applied_saw_ack_, std::vector<bool>{true});
}

TEST_F(ControllerClientTest, RejectedPushIsNackedWithTheError) {
  apply_result_ = [](const ferry::v1::NodeConfig&) {
    return absl::InvalidArgumentError("forward \"web\": dnat[0].port: bad");
  };
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ASSERT_TRUE(service_->Push("nonce-2", Config("v2")));
  std::optional<AgentMessage> ack = service_->WaitFor(IsAck);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->ack().nonce(), "nonce-2");
  EXPECT_FALSE(ack->ack().accepted());
  EXPECT_THAT(ack->ack().error(), HasSubstr("forward \"web\""));
  EXPECT_EQ(client_->last_applied_version(), "");
}

TEST_F(ControllerClientTest, AckCarriesTheForwardsTheNodeCannotServe) {
  forward_errors_ = {{"web6", "kernel lacks IPv6 support: IPv6 is disabled"}};
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ASSERT_TRUE(service_->PushDelta("nonce-d", Delta("v1", "v2")));
  std::optional<AgentMessage> ack = service_->WaitFor(IsAck);
  ASSERT_TRUE(ack.has_value());
  EXPECT_TRUE(ack->ack().accepted());
  EXPECT_EQ(ack->ack().forward_errors_size(), 1);
  EXPECT_EQ(ack->ack().forward_errors().at("web6"), "kernel lacks IPv6 support: IPv6 is disabled");
}

TEST_F(ControllerClientTest, NackNamesItsCauseNotTheForwardsTheNodeCannotServe) {
  // A NACK's forward_errors would blame only those forwards for it.
  forward_errors_ = {{"web6", "kernel lacks IPv6 support: IPv6 is disabled"}};
  apply_result_ = [](const ferry::v1::NodeConfig&) {
    return absl::UnavailableError("applying rules and routes: EBUSY");
  };
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ASSERT_TRUE(service_->Push("nonce-1", Config("v1")));
  std::optional<AgentMessage> nack = service_->WaitFor(IsAck);
  ASSERT_TRUE(nack.has_value());
  EXPECT_FALSE(nack->ack().accepted());
  EXPECT_EQ(nack->ack().forward_errors_size(), 0);
}

TEST_F(ControllerClientTest, DeltaPushGoesToApplyDeltaAndIsAckedWithItsVersion) {
  apply_result_ = [](const ferry::v1::NodeConfig&) {
    return absl::InternalError("a delta must not reach the full-config apply");
  };
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ASSERT_TRUE(service_->PushDelta("nonce-d", Delta("v1", "v2")));
  std::optional<AgentMessage> ack = service_->WaitFor(IsAck);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->ack().nonce(), "nonce-d");
  EXPECT_EQ(ack->ack().version(), "v2");
  EXPECT_TRUE(ack->ack().accepted());
  EXPECT_EQ(delta_versions_, std::vector<std::string>{"v2"});
  EXPECT_EQ(client_->last_applied_version(), "v2");
}

TEST_F(ControllerClientTest, RejectedDeltaIsNackedWithTheErrorAndKeepsTheAppliedVersion) {
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ASSERT_TRUE(service_->Push("nonce-1", Config("v1")));
  ASSERT_TRUE(service_->WaitFor(IsAck).has_value());
  apply_delta_result_ = [](const ferry::v1::NodeConfigDelta&) {
    return absl::FailedPreconditionError("base version mismatch: holds v1");
  };
  ASSERT_TRUE(service_->PushDelta("nonce-2", Delta("v0", "v3")));
  std::optional<AgentMessage> nack = service_->WaitFor(IsAck, 2);
  ASSERT_TRUE(nack.has_value());
  EXPECT_EQ(nack->ack().nonce(), "nonce-2");
  EXPECT_FALSE(nack->ack().accepted());
  EXPECT_THAT(nack->ack().error(), ::testing::StartsWith("base version mismatch"));
  EXPECT_EQ(client_->last_applied_version(), "v1");
}

TEST_F(ControllerClientTest, HelloAnnouncesWhatTheAgentCanDo) {
  StartClient();
  std::optional<AgentMessage> hello = service_->WaitFor(IsHello);
  ASSERT_TRUE(hello.has_value());
  EXPECT_TRUE(ferry::api::HasCapability(hello->hello(), ferry::v1::CAPABILITY_CONFIG_DELTA));
}

TEST_F(ControllerClientTest, HelloAnnouncesTheCapabilitiesTheProcessEnabledOnce) {
  options_.capabilities = {ferry::v1::CAPABILITY_DATA_PATH_PROBE,
                           ferry::v1::CAPABILITY_CONFIG_DELTA};
  Remake();
  StartClient();
  std::optional<AgentMessage> hello = service_->WaitFor(IsHello);
  ASSERT_TRUE(hello.has_value());
  EXPECT_TRUE(ferry::api::HasCapability(hello->hello(), ferry::v1::CAPABILITY_DATA_PATH_PROBE));
  EXPECT_EQ(std::count(hello->hello().capabilities().begin(), hello->hello().capabilities().end(),
                       ferry::v1::CAPABILITY_CONFIG_DELTA),
            1);
}

bool IsDataPath(const AgentMessage& m) { return m.has_data_path(); }

ferry::v1::DataPathReport DataPath(absl::string_view forward, bool full) {
  ferry::v1::DataPathReport report;
  report.set_full(full);
  ferry::v1::DataPathVerdict* v = report.add_verdicts();
  v->set_forward(std::string(forward));
  v->set_status("True");
  return report;
}

TEST_F(ControllerClientTest, DataPathReportIsSentOnlyOnAnOpenStream) {
  StopServer();
  EXPECT_FALSE(client_->ReportDataPath(DataPath("early", false)));
  StartServer();
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  // Not queued: nothing was sent before the stream opened.
  const absl::Time deadline = absl::Now() + kWait;
  while (!client_->ReportDataPath(DataPath("web", false)) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  std::optional<AgentMessage> report = service_->WaitFor(IsDataPath);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->data_path().verdicts(0).forward(), "web");
}

TEST_F(ControllerClientTest, OnConnectedRunsAfterEveryHelloSoAFullReportFollowsIt) {
  std::atomic<int> connected{0};
  // Not asserted here: a stream the stopping server ends right after its
  // Hello refuses the write, and the next stream's call sends it again.
  options_.on_connected = [this, &connected] {
    ++connected;
    client_->ReportDataPath(DataPath(absl::StrCat("full-", connected.load()), true));
  };
  Remake();
  StartClient();
  std::optional<AgentMessage> first = service_->WaitFor(IsDataPath);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->data_path().full());
  EXPECT_TRUE(service_->received().front().has_hello());
  StopServer();
  StartServer();
  std::optional<AgentMessage> second = service_->WaitFor(IsDataPath);
  ASSERT_TRUE(second.has_value());
  // A later stream's (a reconnect may also have raced the server's stop).
  EXPECT_NE(second->data_path().verdicts(0).forward(), "full-1");
  EXPECT_TRUE(service_->received().front().has_hello());
  client_->Stop();
  if (run_.joinable()) run_.join();
}

TEST_F(ControllerClientTest, OnDisconnectedRunsWhenAStreamThatSaidHelloEnds) {
  absl::Mutex mu;
  int connected = 0, disconnected = 0;
  options_.on_connected = [&] {
    absl::MutexLock l(&mu);
    ++connected;
  };
  options_.on_disconnected = [&] {
    absl::MutexLock l(&mu);
    ++disconnected;
  };
  Remake();
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  StopServer();
  {
    absl::MutexLock l(&mu);
    auto ended = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return disconnected >= 1; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&ended), absl::Seconds(10)));
    EXPECT_GE(connected, disconnected);  // never more ends than Hellos
  }
  client_->Stop();
  if (run_.joinable()) run_.join();
}

TEST_F(ControllerClientTest, BaseVersionMismatchIsNackedWithItsReason) {
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  apply_delta_result_ = [](const ferry::v1::NodeConfigDelta&) {
    return ferry::api::BaseVersionMismatch("this agent holds no applied config");
  };
  ASSERT_TRUE(service_->PushDelta("nonce-1", Delta("v0", "v1")));
  std::optional<AgentMessage> nack = service_->WaitFor(IsAck);
  ASSERT_TRUE(nack.has_value());
  EXPECT_FALSE(nack->ack().accepted());
  EXPECT_EQ(nack->ack().reason(), ferry::v1::NACK_REASON_BASE_VERSION_MISMATCH);
}

TEST_F(ControllerClientTest, PushesAreAnsweredInOrder) {
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ASSERT_TRUE(service_->Push("a", Config("v1")));
  ASSERT_TRUE(service_->Push("b", Config("v2")));
  std::optional<AgentMessage> second = service_->WaitFor(IsAck, 2);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(service_->WaitFor(IsAck, 1)->ack().nonce(), "a");
  EXPECT_EQ(second->ack().nonce(), "b");
}

TEST_F(ControllerClientTest, AddressChangeIsSentOnOpenStream) {
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ferry::v1::NodeAddress address;
  address.set_interface("eth0");
  address.set_address("192.0.2.7");
  address.set_prefix_length(24);
  client_->UpdateAddresses({address});
  std::optional<AgentMessage> update = service_->WaitFor(IsAddresses);
  ASSERT_TRUE(update.has_value());
  ASSERT_EQ(update->addresses().addresses_size(), 1);
  EXPECT_EQ(update->addresses().addresses(0).address(), "192.0.2.7");
}

ferry::v1::RouteSource Source(const std::string& destination, const std::string& source) {
  ferry::v1::RouteSource r;
  r.set_destination(destination);
  r.set_source(source);
  r.set_interface("wg0");
  return r;
}

TEST_F(ControllerClientTest, RouteSourcesAreSentWithTheAddressesOnOpenStream) {
  ferry::v1::NodeAddress address;
  address.set_interface("wg0");
  address.set_address("10.8.0.1");
  address.set_prefix_length(24);
  client_->UpdateAddresses({address});
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  client_->UpdateRouteSources({Source("10.8.0.2", "10.8.0.1")});
  std::optional<AgentMessage> update = service_->WaitFor(IsAddresses);
  ASSERT_TRUE(update.has_value());
  // The whole AddressUpdate: the controller replaces both lists with it.
  ASSERT_EQ(update->addresses().addresses_size(), 1);
  EXPECT_EQ(update->addresses().addresses(0).address(), "10.8.0.1");
  ASSERT_EQ(update->addresses().route_sources_size(), 1);
  EXPECT_EQ(update->addresses().route_sources(0).destination(), "10.8.0.2");
  EXPECT_EQ(update->addresses().route_sources(0).source(), "10.8.0.1");
  EXPECT_EQ(update->addresses().route_sources(0).interface(), "wg0");

  // An address change repeats the route sources.
  address.set_address("10.8.0.5");
  client_->UpdateAddresses({address});
  update = service_->WaitFor(IsAddresses, 2);
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->addresses().addresses(0).address(), "10.8.0.5");
  EXPECT_EQ(update->addresses().route_sources_size(), 1);
}

TEST_F(ControllerClientTest, EveryHelloIsFollowedByTheRouteSourcesOnceKnown) {
  client_->UpdateRouteSources({Source("10.8.0.2", "10.8.0.1"), Source("10.8.0.3", "10.8.0.1")});
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  std::optional<AgentMessage> update = service_->WaitFor(IsAddresses);
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->addresses().route_sources_size(), 2);

  StopServer();  // a restarted controller may hold stale ones from its store
  StartServer();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  update = service_->WaitFor(IsAddresses);
  ASSERT_TRUE(update.has_value());
  ASSERT_EQ(update->addresses().route_sources_size(), 2);
  EXPECT_EQ(update->addresses().route_sources(1).destination(), "10.8.0.3");
  const std::vector<AgentMessage> received = service_->received();
  ASSERT_GE(received.size(), 2u);
  EXPECT_TRUE(received[0].has_hello());
  EXPECT_TRUE(received[1].has_addresses());
}

TEST_F(ControllerClientTest, NoRouteSourcesFollowTheHelloBeforeTheyAreKnown) {
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  // Messages arrive in order: an update sent after the hello would come
  // before this push's ACK.
  ASSERT_TRUE(service_->Push("n", Config("v1")));
  ASSERT_TRUE(service_->WaitFor(IsAck).has_value());
  for (const AgentMessage& m : service_->received()) EXPECT_FALSE(m.has_addresses());
}

TEST_F(ControllerClientTest, ReconnectsAfterServerRestartAndReportsAppliedVersion) {
  // The first hello has applied nothing, so it names no failed forwards.
  forward_errors_ = {{"web6", "kernel lacks IPv6 support: IPv6 is disabled"}};
  StartClient();
  std::optional<AgentMessage> first = service_->WaitFor(IsHello);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->hello().last_applied_forward_errors_size(), 0);
  ASSERT_TRUE(service_->Push("n", Config("v7")));
  ASSERT_TRUE(service_->WaitFor(IsAck).has_value());
  StopServer();
  StartServer();
  std::optional<AgentMessage> hello = service_->WaitFor(IsHello);
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->hello().last_applied_version(), "v7");
  // With what that version's ACK said failed, so a controller can adopt it.
  EXPECT_EQ(hello->hello().last_applied_forward_errors().at("web6"),
            "kernel lacks IPv6 support: IPv6 is disabled");
  EXPECT_EQ(service_->identities().at(0), "node-a");
}

TEST_F(ControllerClientTest, CredentialsAreAskedForAgainAtEachReconnect) {
  // A renewed certificate must reach the next connection; with a
  // credentials source the identity is the channel's, so no header is sent.
  std::atomic<int> asked{0};
  ControllerClient::Options options = options_;
  options.credentials = [&asked]() -> absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> {
    ++asked;
    return grpc::InsecureChannelCredentials();
  };
  client_ = std::make_unique<ControllerClient>(
      options, [](const ferry::v1::NodeConfig&) { return absl::OkStatus(); }, [] { return 0.5; });
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  EXPECT_EQ(service_->identities().at(0), "");
  const int before = asked.load();
  StopServer();
  StartServer();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  EXPECT_GT(asked.load(), before);
}

TEST_F(ControllerClientTest, CredentialsThatCannotBeLoadedAreRetriedUntilTheyCan) {
  std::atomic<int> asked{0};
  ControllerClient::Options options = options_;
  options.credentials = [&asked]() -> absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> {
    if (++asked < 3) return absl::FailedPreconditionError("node.crt expired");
    return grpc::InsecureChannelCredentials();
  };
  client_ = std::make_unique<ControllerClient>(
      options, [](const ferry::v1::NodeConfig&) { return absl::OkStatus(); }, [] { return 0.5; });
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  EXPECT_EQ(asked.load(), 3);
}

TEST_F(ControllerClientTest, AfterAPartialFailureTheHelloClaimsNoAppliedVersion) {
  forward_errors_ = {{"web6", "kernel lacks IPv6 support: IPv6 is disabled"}};
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ASSERT_TRUE(service_->Push("n", Config("v7")));
  ASSERT_TRUE(service_->WaitFor(IsAck).has_value());
  kernel_partial_ = true;  // a later push failed partway, rollback too
  StopServer();
  StartServer();
  std::optional<AgentMessage> hello = service_->WaitFor(IsHello);
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->hello().last_applied_version(), "");
  EXPECT_EQ(hello->hello().last_applied_forward_errors_size(), 0);
}

TEST_F(ControllerClientTest, StopEndsRunWhileConnected) {
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  std::future<void> stopped = std::async(std::launch::async, [this] {
    client_->Stop();
    run_.join();
  });
  EXPECT_EQ(stopped.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST(ValidateControllerTargetTest, AcceptsHostPortAndUnixPath) {
  EXPECT_TRUE(ValidateControllerTarget("controller:7443").ok());
  EXPECT_TRUE(ValidateControllerTarget("[2001:db8::1]:7443").ok());
  EXPECT_TRUE(ValidateControllerTarget("unix:/run/ferry/agent.sock").ok());
}

TEST(ValidateControllerTargetTest, RejectsMissingPortAndRelativeSocket) {
  EXPECT_THAT(ValidateControllerTarget("controller").message(), HasSubstr("--controller"));
  EXPECT_FALSE(ValidateControllerTarget("controller:0").ok());
  EXPECT_FALSE(ValidateControllerTarget("unix:agent.sock").ok());
}

}  // namespace
}  // namespace ferry::agent

namespace ferry::agent {
namespace {

bool IsDrift(const AgentMessage& m) { return m.has_drift(); }

ferry::v1::DriftReport Report(absl::string_view trigger, bool in_sync) {
  ferry::v1::DriftReport report;
  report.set_trigger(std::string(trigger));
  report.set_in_sync(in_sync);
  return report;
}

TEST_F(ControllerClientTest, DriftReportIsSentOnOpenStream) {
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  client_->ReportDrift(Report("event", true));
  std::optional<AgentMessage> drift = service_->WaitFor(IsDrift);
  ASSERT_TRUE(drift.has_value());
  EXPECT_EQ(drift->drift().trigger(), "event");
}

TEST_F(ControllerClientTest, DriftReportsWhileDisconnectedAreSentInOrderAfterTheHello) {
  StopServer();
  client_->ReportDrift(Report("event", false));
  client_->ReportDrift(Report("periodic", true));
  EXPECT_EQ(client_->queued_reports(), 2u);
  StartServer();
  StartClient();
  std::optional<AgentMessage> second = service_->WaitFor(IsDrift, 2);
  ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(service_->WaitFor(IsHello).has_value());
  EXPECT_EQ(service_->WaitFor(IsDrift, 1)->drift().trigger(), "event");
  EXPECT_EQ(second->drift().trigger(), "periodic");
  EXPECT_EQ(client_->queued_reports(), 0u);
}

TEST_F(ControllerClientTest, StandingDriftIsResentAfterEachHelloWithoutItsRepairs) {
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ferry::v1::DriftReport report = Report("event", false);
  ferry::v1::DriftItem* repaired = report.add_items();
  repaired->set_object("route table 7100");
  repaired->set_repaired(true);
  ferry::v1::DriftItem* standing = report.add_items();
  standing->set_forward("audit");
  standing->set_object("map dnat4 element 192.0.2.1 . tcp . 8443");
  client_->ReportDrift(report);
  ASSERT_TRUE(service_->WaitFor(IsDrift).has_value());

  StopServer();  // a restarted controller knows no drift
  StartServer();
  std::optional<AgentMessage> resent = service_->WaitFor(IsDrift);
  ASSERT_TRUE(resent.has_value());
  EXPECT_EQ(resent->drift().trigger(), "resync");
  EXPECT_FALSE(resent->drift().in_sync());
  ASSERT_EQ(resent->drift().items_size(), 1);
  EXPECT_EQ(resent->drift().items(0).forward(), "audit");
  EXPECT_FALSE(resent->drift().items(0).repaired());
}

TEST_F(ControllerClientTest, QueuedDriftReportsKeepTheNewest) {
  StopServer();
  for (size_t i = 0; i < ControllerClient::kMaxQueuedReports + 10; ++i) {
    client_->ReportDrift(Report(absl::StrCat("r", i), false));
  }
  EXPECT_EQ(client_->queued_reports(), ControllerClient::kMaxQueuedReports);
  StartServer();
  StartClient();
  std::optional<AgentMessage> first = service_->WaitFor(IsDrift);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->drift().trigger(), "r10");
}

}  // namespace
}  // namespace ferry::agent

namespace ferry::agent {
namespace {

TEST_F(ControllerClientTest, PlanRequestIsAnsweredWithItsNonceAndLines) {
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ASSERT_TRUE(service_->Plan("plan-1", Config("v7")));
  std::optional<AgentMessage> answer = service_->WaitFor(IsPlan);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->plan().nonce(), "plan-1");
  EXPECT_THAT(answer->plan().lines(), ::testing::ElementsAre("+ version v7"));
  EXPECT_EQ(answer->plan().error(), "");
  // A plan is no push: nothing was applied or ACKed.
  EXPECT_EQ(client_->last_applied_version(), "");
}

TEST_F(ControllerClientTest, PlanThatCannotBeMadeIsAnsweredWithWhy) {
  plan_result_ = [](const ferry::v1::NodeConfig&) {
    return absl::PermissionDeniedError(
        "reading nftables table inet ferry: operation not permitted");
  };
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ASSERT_TRUE(service_->Plan("plan-2", Config("v1")));
  std::optional<AgentMessage> answer = service_->WaitFor(IsPlan);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->plan().nonce(), "plan-2");
  EXPECT_THAT(answer->plan().error(), HasSubstr("operation not permitted"));
  EXPECT_TRUE(answer->plan().lines().empty());
}

// Plans are worked out beside the pushes: a slow one holds no push back,
// and its answer goes out while a push is being applied.
TEST_F(ControllerClientTest, PlanNeitherWaitsForNorHoldsBackPushes) {
  absl::Notification planning, plan_release, applying, apply_release;
  plan_result_ = [&](const ferry::v1::NodeConfig&) {
    planning.Notify();
    plan_release.WaitForNotificationWithTimeout(kWait);
    return std::vector<std::string>{"+ sysctl net/ipv4/ip_forward = 1"};
  };
  apply_result_ = [&](const ferry::v1::NodeConfig&) {
    applying.Notify();
    apply_release.WaitForNotificationWithTimeout(kWait);
    return absl::OkStatus();
  };
  StartClient();
  ASSERT_TRUE(service_->WaitFor(IsHello).has_value());
  ASSERT_TRUE(service_->Plan("plan-3", Config("v2")));
  ASSERT_TRUE(planning.WaitForNotificationWithTimeout(kWait));
  ASSERT_TRUE(service_->Push("push-1", Config("v1")));
  ASSERT_TRUE(applying.WaitForNotificationWithTimeout(kWait));

  plan_release.Notify();
  std::optional<AgentMessage> answer = service_->WaitFor(IsPlan);
  const std::vector<AgentMessage> before_ack = service_->received();
  apply_release.Notify();
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->plan().nonce(), "plan-3");
  EXPECT_TRUE(std::none_of(before_ack.begin(), before_ack.end(), IsAck));
  EXPECT_TRUE(service_->WaitFor(IsAck).has_value());
}

}  // namespace
}  // namespace ferry::agent
