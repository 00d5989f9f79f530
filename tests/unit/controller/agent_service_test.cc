#include "controller/server/agent_service.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "controller/fleet/fleet_reconciler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/header_node_authenticator.h"
#include "tests/unit/controller/memory_store.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

// A real server on loopback with a running reconciler over a memory store.
class AgentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fleet_.Start();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                       grpc::InsecureChannelCredentials());
    stub_ = ferry::v1::AgentService::NewStub(channel);
  }

  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    fleet_.Stop();
  }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& node) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!node.empty()) context->AddMetadata("x-ferry-node", node);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  static ferry::v1::AgentMessage Hello(const std::string& node) {
    ferry::v1::AgentMessage m;
    m.mutable_hello()->set_node_name(node);
    auto* a = m.mutable_hello()->add_addresses();
    a->set_address("192.0.2.1");
    a->set_prefix_length(24);
    return m;
  }

  static FleetReconciler::Options FastStop() {
    FleetReconciler::Options options;
    options.store_poll = absl::Milliseconds(20);
    return options;
  }

  MemoryStore store_;
  FleetReconciler fleet_{&store_, FastStop()};
  AgentServiceImpl service_{&fleet_, TestNodeAuthenticator()};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ferry::v1::AgentService::Stub> stub_;
};

TEST_F(AgentServiceTest, HelloNamingAnotherNodeIsPermissionDenied) {
  auto context = Context("node-a");
  auto stream = stub_->Sync(context.get());
  ASSERT_TRUE(stream->Write(Hello("node-b")));
  ferry::v1::ControllerMessage in;
  EXPECT_FALSE(stream->Read(&in));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("node-b"));
}

TEST_F(AgentServiceTest, StreamWithoutIdentityIsUnauthenticated) {
  auto context = Context("");
  auto stream = stub_->Sync(context.get());
  stream->Write(Hello("node-a"));
  ferry::v1::ControllerMessage in;
  EXPECT_FALSE(stream->Read(&in));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AgentServiceTest, FirstMessageMustBeHello) {
  auto context = Context("node-a");
  auto stream = stub_->Sync(context.get());
  ferry::v1::AgentMessage ack;
  ack.mutable_ack()->set_nonce("1");
  ASSERT_TRUE(stream->Write(ack));
  ferry::v1::ControllerMessage in;
  EXPECT_FALSE(stream->Read(&in));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(AgentServiceTest, MatchingHelloReceivesConfigAndRegistersNode) {
  auto context = Context("node-a");
  auto stream = stub_->Sync(context.get());
  ASSERT_TRUE(stream->Write(Hello("node-a")));
  ferry::v1::ControllerMessage in;
  ASSERT_TRUE(stream->Read(&in));
  ASSERT_TRUE(in.has_push());
  EXPECT_FALSE(in.push().nonce().empty());
  EXPECT_FALSE(in.push().config().version().empty());
  // The Node write follows the push; wait for it, bounded.
  int64_t revision = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!store_.Get("Node", "node-a").ok() && absl::Now() < deadline) {
    store_.WaitForChange(revision, absl::Milliseconds(200));
    revision = store_.CurrentRevision();
  }
  EXPECT_TRUE(store_.Get("Node", "node-a").ok());
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(AgentServiceTest, SecondStreamForSameNodeEndsTheFirstWithAborted) {
  auto first_context = Context("node-a");
  auto first = stub_->Sync(first_context.get());
  ASSERT_TRUE(first->Write(Hello("node-a")));
  ferry::v1::ControllerMessage in;
  ASSERT_TRUE(first->Read(&in));

  auto second_context = Context("node-a");
  auto second = stub_->Sync(second_context.get());
  ASSERT_TRUE(second->Write(Hello("node-a")));
  ASSERT_TRUE(second->Read(&in));

  EXPECT_FALSE(first->Read(&in));
  grpc::Status status = first->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(status.error_message(), HasSubstr("replaced"));
  second->WritesDone();
  EXPECT_TRUE(second->Finish().ok());
}

TEST_F(AgentServiceTest, DriftReportKeepsTheStreamOpenAndReachesTheNodeStatus) {
  auto context = Context("node-a");
  auto stream = stub_->Sync(context.get());
  ASSERT_TRUE(stream->Write(Hello("node-a")));
  ferry::v1::ControllerMessage in;
  ASSERT_TRUE(stream->Read(&in));
  ferry::v1::AgentMessage drift;
  drift.mutable_drift()->set_in_sync(false);
  auto* item = drift.mutable_drift()->add_items();
  item->set_object("table inet ferry");
  item->set_kind("nftables");
  item->set_expected("table inet ferry");
  ASSERT_TRUE(stream->Write(drift));
  // The Node's InSync condition follows; wait for it, bounded.
  auto in_sync = [&]() -> std::string {
    absl::StatusOr<StoredObject> stored = store_.Get("Node", "node-a");
    if (!stored.ok()) return "";
    ferry::v1::Object o;
    o.ParseFromString(stored->value);
    for (const auto& c : o.node().status().conditions()) {
      if (c.type() == "InSync") return c.status();
    }
    return "";
  };
  int64_t revision = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (in_sync() != "False" && absl::Now() < deadline) {
    store_.WaitForChange(revision, absl::Milliseconds(200));
    revision = store_.CurrentRevision();
  }
  EXPECT_EQ(in_sync(), "False");
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(AgentServiceTest, RouteSourcesReachTheNodeStatus) {
  auto context = Context("node-a");
  auto stream = stub_->Sync(context.get());
  ASSERT_TRUE(stream->Write(Hello("node-a")));
  ferry::v1::ControllerMessage in;
  ASSERT_TRUE(stream->Read(&in));
  ferry::v1::AgentMessage update;
  *update.mutable_addresses()->mutable_addresses() = Hello("node-a").hello().addresses();
  auto* r = update.mutable_addresses()->add_route_sources();
  r->set_destination("10.8.0.2");
  r->set_source("10.8.0.1");
  r->set_interface("wg0");
  ASSERT_TRUE(stream->Write(update));
  auto sources = [&]() -> int {
    absl::StatusOr<StoredObject> stored = store_.Get("Node", "node-a");
    if (!stored.ok()) return 0;
    ferry::v1::Object o;
    o.ParseFromString(stored->value);
    return o.node().status().route_sources_size();
  };
  int64_t revision = 0;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (sources() != 1 && absl::Now() < deadline) {
    store_.WaitForChange(revision, absl::Milliseconds(200));
    revision = store_.CurrentRevision();
  }
  EXPECT_EQ(sources(), 1);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(AgentServiceTest, MalformedRouteSourceEndsTheStreamNamingTheField) {
  auto context = Context("node-a");
  auto stream = stub_->Sync(context.get());
  ASSERT_TRUE(stream->Write(Hello("node-a")));
  ferry::v1::ControllerMessage in;
  ASSERT_TRUE(stream->Read(&in));
  ferry::v1::AgentMessage update;
  auto* r = update.mutable_addresses()->add_route_sources();
  r->set_destination("10.8.0.2");
  r->set_source("not-an-address");
  r->set_interface("wg0");
  stream->Write(update);
  while (stream->Read(&in)) {
  }
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("addresses.routeSources[0].source"));
}

}  // namespace
}  // namespace ferry::controller
