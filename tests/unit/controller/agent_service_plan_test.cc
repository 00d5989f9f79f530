// Spec: plan requests (ResourceService.Diff) travel on an agent's Sync
// stream beside its pushes, and the agent's answer reaches the waiting call.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "controller/fleet/fleet_reconciler.h"
#include "controller/fleet/plan_requests.h"
#include "controller/server/agent_service.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/header_node_authenticator.h"
#include "tests/unit/controller/memory_store.h"

namespace ferry::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class AgentServicePlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fleet_.Start();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = ferry::v1::AgentService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (asker_.joinable()) asker_.join();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    fleet_.Stop();
  }

  // A connected agent for node-a, past the push its Hello gets.
  void Connect() {
    context_.AddMetadata("x-ferry-node", "node-a");
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    stream_ = stub_->Sync(&context_);
    ferry::v1::AgentMessage hello;
    hello.mutable_hello()->set_node_name("node-a");
    ASSERT_TRUE(stream_->Write(hello));
    ferry::v1::ControllerMessage first;
    ASSERT_TRUE(stream_->Read(&first));
    ASSERT_TRUE(first.has_push());
  }

  void AskInBackground(absl::Duration wait = absl::Seconds(10)) {
    ferry::v1::NodeConfig config;
    config.set_version("would-be");
    asker_ = std::thread([this, config, wait] {
      answers_ = plans_.Ask({{"node-a", config}}, absl::Now() + wait);
    });
  }

  // The next plan request on the stream, skipping pushes.
  ferry::v1::PlanRequest ReadPlan() {
    ferry::v1::ControllerMessage message;
    while (stream_->Read(&message)) {
      if (message.has_plan()) return message.plan();
    }
    return ferry::v1::PlanRequest();
  }

  static FleetReconciler::Options FastStop() {
    FleetReconciler::Options options;
    options.store_poll = absl::Milliseconds(20);
    return options;
  }
  static AgentServiceImpl::Options WithPlans(PlanRequests* plans) {
    AgentServiceImpl::Options options;
    options.plans = plans;
    return options;
  }

  MemoryStore store_;
  FleetReconciler fleet_{&store_, FastStop()};
  PlanRequests plans_;
  AgentServiceImpl service_{&fleet_, WithPlans(&plans_), TestNodeAuthenticator()};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ferry::v1::AgentService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<ferry::v1::AgentMessage, ferry::v1::ControllerMessage>>
      stream_;
  std::thread asker_;
  PlanRequests::Answers answers_;
};

TEST_F(AgentServicePlanTest, ARequestReachesTheAgentAndItsAnswerTheCaller) {
  Connect();
  AskInBackground();
  const ferry::v1::PlanRequest request = ReadPlan();
  EXPECT_EQ(request.config().version(), "would-be");
  ASSERT_FALSE(request.nonce().empty());
  ferry::v1::AgentMessage answer;
  answer.mutable_plan()->set_nonce(request.nonce());
  answer.mutable_plan()->add_lines("+ table inet ferry");
  ASSERT_TRUE(stream_->Write(answer));
  asker_.join();
  ASSERT_TRUE(answers_.at("node-a").ok()) << answers_.at("node-a").status();
  EXPECT_THAT(*answers_.at("node-a"), ElementsAre("+ table inet ferry"));

  // An answer nobody waits for is dropped, and the stream stays open.
  ASSERT_TRUE(stream_->Write(answer));
  stream_->WritesDone();
  EXPECT_TRUE(stream_->Finish().ok());
}

TEST_F(AgentServicePlanTest, AStreamThatEndsFailsTheDiffAtOnce) {
  Connect();
  AskInBackground(absl::Seconds(30));
  ReadPlan();
  const absl::Time ended = absl::Now();
  stream_->WritesDone();
  stream_->Finish();
  asker_.join();
  EXPECT_LT(absl::Now() - ended, absl::Seconds(5));
  EXPECT_THAT(answers_.at("node-a").status().message(), HasSubstr("disconnected"));
}

TEST_F(AgentServicePlanTest, ANodeWithoutAStreamIsNotConnected) {
  AskInBackground();
  asker_.join();
  EXPECT_THAT(answers_.at("node-a").status().message(), HasSubstr("not connected"));
}

}  // namespace
}  // namespace ferry::controller
