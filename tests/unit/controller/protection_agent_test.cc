// A misbehaving agent (floods AddressUpdates and DriftReports, sends an
// oversized message) cannot exhaust the controller: its excess reports are
// coalesced to the latest state, its oversized message ends only its own
// stream, and a well-behaved agent still gets its push.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "controller/fleet/fleet_reconciler.h"
#include "controller/protection/protection_metrics.h"
#include "controller/server/agent_service.h"
#include "controller/server/server_limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/header_node_authenticator.h"
#include "tests/unit/controller/memory_store.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

// Records what reaches the fleet, in order.
class RecordingRegistry : public SessionRegistry {
 public:
  SessionHandle* Connect(const std::string&, const ferry::v1::Hello&, PushSink* sink) override {
    absl::MutexLock l(&mu_);
    sink_ = sink;
    return reinterpret_cast<SessionHandle*>(&token_);
  }
  void OnAck(SessionHandle*, const ferry::v1::ConfigAck&) override {}
  void OnAddresses(SessionHandle*, const ferry::v1::AddressUpdate& update) override {
    absl::MutexLock l(&mu_);
    addresses_.push_back(update.addresses(0).address());
  }
  void OnDrift(SessionHandle*, const ferry::v1::DriftReport& report) override {
    absl::MutexLock l(&mu_);
    drift_.push_back(report.config_version());
  }
  void OnDataPath(SessionHandle*, const ferry::v1::DataPathReport&) override {}
  void Disconnect(SessionHandle*) override {}

  // Waits, bounded, until the last delivered address is `address`.
  bool WaitForLastAddress(const std::string& address, absl::Duration timeout) {
    absl::MutexLock l(&mu_);
    auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return !addresses_.empty() && addresses_.back() == address;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }
  bool WaitForLastDrift(const std::string& version, absl::Duration timeout) {
    absl::MutexLock l(&mu_);
    auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return !drift_.empty() && drift_.back() == version;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }
  // The last connected stream's push side, once it said hello.
  PushSink* WaitForSink(absl::Duration timeout) {
    absl::MutexLock l(&mu_);
    auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return sink_ != nullptr; };
    mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
    return sink_;
  }
  std::vector<std::string> addresses() {
    absl::MutexLock l(&mu_);
    return addresses_;
  }
  std::vector<std::string> drift() {
    absl::MutexLock l(&mu_);
    return drift_;
  }

 private:
  int token_ = 0;
  absl::Mutex mu_;
  PushSink* sink_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::vector<std::string> addresses_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> drift_ ABSL_GUARDED_BY(mu_);
};

ferry::v1::AgentMessage Hello(const std::string& node) {
  ferry::v1::AgentMessage m;
  m.mutable_hello()->set_node_name(node);
  auto* a = m.mutable_hello()->add_addresses();
  a->set_address("192.0.2.1");
  a->set_prefix_length(24);
  return m;
}

ferry::v1::AgentMessage Addresses(const std::string& address) {
  ferry::v1::AgentMessage m;
  auto* a = m.mutable_addresses()->add_addresses();
  a->set_address(address);
  a->set_prefix_length(24);
  return m;
}

ferry::v1::AgentMessage Drift(const std::string& version) {
  ferry::v1::AgentMessage m;
  m.mutable_drift()->set_in_sync(true);
  m.mutable_drift()->set_config_version(version);
  return m;
}

class AgentClient {
 public:
  AgentClient(const std::shared_ptr<grpc::Channel>& channel, const std::string& node)
      : stub_(ferry::v1::AgentService::NewStub(channel)) {
    context_.AddMetadata("x-ferry-node", node);
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stream_ = stub_->Sync(&context_);
  }
  ~AgentClient() {
    if (finished_) return;
    context_.TryCancel();
    ferry::v1::ControllerMessage in;
    for (int i = 0; i < 1000 && stream_->Read(&in); ++i) {
    }
    stream_->Finish();
  }
  grpc::ClientReaderWriter<ferry::v1::AgentMessage, ferry::v1::ControllerMessage>* operator->() {
    return stream_.get();
  }
  grpc::Status Finish() {
    finished_ = true;
    return stream_->Finish();
  }

 private:
  std::unique_ptr<ferry::v1::AgentService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<ferry::v1::AgentMessage, ferry::v1::ControllerMessage>>
      stream_;
  bool finished_ = false;
};

class ProtectionAgentTest : public ::testing::Test {
 protected:
  void Start(SessionRegistry* registry, RateLimit reports) {
    AgentServiceImpl::Options options;
    options.reports = reports;
    options.metrics = &metrics_;
    service_ = std::make_unique<AgentServiceImpl>(registry, options, TestNodeAuthenticator());
    grpc::ServerBuilder builder;
    ConfigureServer(ServerLimits{}, &builder);
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
    service_.reset();
  }

  // Outlives the server, whose sessions call it until they are done.
  RecordingRegistry registry_;
  ProtectionMetrics metrics_{nullptr};
  std::unique_ptr<AgentServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ProtectionAgentTest, AddressUpdateFloodIsCoalescedAndTheLatestIsDelivered) {
  Start(&registry_, {/*per_second=*/10, /*burst=*/2});
  AgentClient agent(channel_, "node-a");
  ASSERT_TRUE(agent->Write(Hello("node-a")));
  constexpr int kSent = 300;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kSent; ++i) {
    // Each update distinct (and a valid address: the session checks them).
    ASSERT_TRUE(agent->Write(Addresses(absl::StrCat("2001:db8::", absl::Hex(i)))));
  }
  const std::string last = absl::StrCat("2001:db8::", absl::Hex(kSent - 1));
  ASSERT_TRUE(registry_.WaitForLastAddress(last, absl::Seconds(20)));
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  const size_t delivered = registry_.addresses().size();
  EXPECT_LT(delivered, static_cast<size_t>(kSent));
  // The bucket's burst plus what it refilled, plus the final flush.
  EXPECT_LE(delivered, static_cast<size_t>(2 + 10 * elapsed + 1));
  EXPECT_EQ(metrics_.CoalescedCount("addresses"), kSent - delivered);
}

TEST_F(ProtectionAgentTest, DriftReportFloodIsCoalescedAndTheLatestIsDelivered) {
  Start(&registry_, {10, 2});
  AgentClient agent(channel_, "node-a");
  ASSERT_TRUE(agent->Write(Hello("node-a")));
  constexpr int kSent = 300;
  for (int i = 0; i < kSent; ++i) ASSERT_TRUE(agent->Write(Drift(absl::StrCat("v", i))));
  ASSERT_TRUE(registry_.WaitForLastDrift(absl::StrCat("v", kSent - 1), absl::Seconds(20)));
  EXPECT_LT(registry_.drift().size(), static_cast<size_t>(kSent));
  EXPECT_GT(metrics_.CoalescedCount("drift"), 0);
}

TEST_F(ProtectionAgentTest, ReportsWithinTheLimitAreAllDelivered) {
  Start(&registry_, {10, 5});
  AgentClient agent(channel_, "node-a");
  ASSERT_TRUE(agent->Write(Hello("node-a")));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(agent->Write(Addresses(absl::StrCat("10.0.0.", i))));
  ASSERT_TRUE(registry_.WaitForLastAddress("10.0.0.4", absl::Seconds(10)));
  EXPECT_EQ(registry_.addresses().size(), 5u);
  EXPECT_EQ(metrics_.CoalescedCount("addresses"), 0);
}

// Pushes as PushTracker sends them: the ConfigPush encoded, carried as the
// message's unknown `push` field.
ferry::v1::ControllerMessage EncodedPush(const ferry::v1::ConfigPush& push) {
  ferry::v1::ControllerMessage m;
  m.GetReflection()->MutableUnknownFields(&m)->AddLengthDelimited(
      ferry::v1::ControllerMessage::kPushFieldNumber, push.SerializeAsString());
  return m;
}

class ProtectionPushTest : public ProtectionAgentTest,
                           public ::testing::WithParamInterface<bool> {};

TEST_P(ProtectionPushTest, PushesToAnAgentThatDoesNotReadAreCoalescedToTheLatest) {
  const bool encoded = GetParam();
  Start(&registry_, {10, 2});
  AgentClient stalled(channel_, "node-stall");
  ASSERT_TRUE(stalled->Write(Hello("node-stall")));
  PushSink* sink = registry_.WaitForSink(absl::Seconds(10));
  ASSERT_NE(sink, nullptr);
  // 1 MiB each, 100 MiB in all: far more than the transport buffers for a
  // reader that never reads, so the controller must hold or drop them.
  constexpr int kPushes = 100;
  const std::string padding(1 << 20, 'x');
  for (int i = 0; i < kPushes; ++i) {
    ferry::v1::ControllerMessage m;
    m.mutable_push()->set_nonce(absl::StrCat(i));
    m.mutable_push()->mutable_config()->set_version(absl::StrCat("v", i));
    m.mutable_push()->mutable_config()->add_dnat()->set_forward(padding);
    sink->Push(encoded ? EncodedPush(m.push()) : m);
  }
  // Now it reads: whatever was in flight or buffered, then the latest only.
  int received = 0;
  std::string last;
  ferry::v1::ControllerMessage in;
  while (received < kPushes && last != absl::StrCat(kPushes - 1) && stalled->Read(&in)) {
    ++received;
    last = in.push().nonce();
  }
  EXPECT_EQ(last, absl::StrCat(kPushes - 1)) << "the latest push must arrive";
  EXPECT_LT(received, kPushes / 2) << "pushes queued behind the stalled write were not coalesced";
}

INSTANTIATE_TEST_SUITE_P(Pushes, ProtectionPushTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Encoded" : "Decoded";
                         });

class ProtectionFleetTest : public ProtectionAgentTest {
 protected:
  static FleetReconciler::Options FastStop() {
    FleetReconciler::Options options;
    options.store_poll = absl::Milliseconds(20);
    return options;
  }
  void SetUp() override { fleet_.Start(); }
  void TearDown() override {
    ProtectionAgentTest::TearDown();
    fleet_.Stop();
  }
  MemoryStore store_;
  FleetReconciler fleet_{&store_, FastStop()};
};

TEST_F(ProtectionFleetTest, OversizedAgentMessageEndsOnlyThatStream) {
  Start(&fleet_, AgentServiceImpl::Options().reports);
  AgentClient bad(channel_, "node-bad");
  ASSERT_TRUE(bad->Write(Hello("node-bad")));
  ferry::v1::ControllerMessage in;
  ASSERT_TRUE(bad->Read(&in));  // its first push
  ferry::v1::AgentMessage huge = Addresses("192.0.2.9");
  huge.mutable_addresses()->mutable_addresses(0)->set_address(
      std::string(ServerLimits{}.max_receive_bytes + 1, 'x'));
  bad->Write(huge);
  for (int i = 0; i < 100 && bad->Read(&in); ++i) {
  }
  grpc::Status status = bad.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("larger than max"));

  AgentClient good(channel_, "node-good");
  ASSERT_TRUE(good->Write(Hello("node-good")));
  ASSERT_TRUE(good->Read(&in));
  EXPECT_TRUE(in.has_push());
}

TEST_F(ProtectionFleetTest, WellBehavedAgentGetsItsPushWhileAnotherFloods) {
  Start(&fleet_, {/*per_second=*/20, /*burst=*/20});
  AgentClient flooder(channel_, "node-flood");
  ASSERT_TRUE(flooder->Write(Hello("node-flood")));
  std::thread flood([&] {
    for (int i = 0; i < 20000; ++i) {
      ferry::v1::AgentMessage m = i % 2 == 0 ? Drift(absl::StrCat("v", i))
                                             : Addresses(absl::StrCat("10.1.", i % 250, ".1"));
      if (!flooder->Write(m)) return;
    }
  });
  AgentClient good(channel_, "node-good");
  const absl::Time start = absl::Now();
  ASSERT_TRUE(good->Write(Hello("node-good")));
  ferry::v1::ControllerMessage in;
  ASSERT_TRUE(good->Read(&in));
  EXPECT_TRUE(in.has_push());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  flood.join();
  EXPECT_GT(metrics_.CoalescedCount("drift") + metrics_.CoalescedCount("addresses"), 0);
}

}  // namespace
}  // namespace ferry::controller
