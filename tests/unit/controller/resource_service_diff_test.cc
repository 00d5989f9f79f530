// Spec: ResourceService.Diff is authorized and checked as a dry-run apply,
// asks the agent of each node whose planned config the objects change, and
// returns the agents' lines (or why a node's are unknown) by node name. It
// writes nothing.

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "controller/fleet/plan_requests.h"
#include "controller/server/resource_service.h"
#include "controller/store/object_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/resource_service_fixture.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

using ferry::v1::ApplyRequest;
using ferry::v1::DiffResponse;
using ferry::v1::Object;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A node's agent: answers each plan request on a thread of its own (as the
// stream's reactions do) with `answer(config)`, or never when silent.
class FakeAgent : public PlanSink {
 public:
  FakeAgent(PlanRequests* plans, std::string node) : plans_(plans), node_(std::move(node)) {
    plans_->Attach(node_, this);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeAgent() override {
    plans_->Detach(node_, this);
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }

  bool SendPlan(ferry::v1::ControllerMessage message) override {
    absl::MutexLock lock(&mu_);
    asked_.push_back(message.plan().config());
    queue_.push_back(message.plan());
    return true;
  }

  std::vector<ferry::v1::NodeConfig> asked() {
    absl::MutexLock lock(&mu_);
    return asked_;
  }

  std::function<ferry::v1::PlanResult(const ferry::v1::NodeConfig&)> answer =
      [](const ferry::v1::NodeConfig& config) {
        ferry::v1::PlanResult result;
        for (const ferry::v1::DnatRule& rule : config.dnat()) {
          result.add_lines(absl::StrCat("+ map dnat4 element ", rule.frontend_address(),
                                        " . tcp . ", rule.port()));
        }
        for (const ferry::v1::ReturnRoute& route : config.return_routes()) {
          result.add_lines(absl::StrCat("+ route default via ", route.via()));
        }
        return result;
      };
  std::atomic<bool> silent{false};

 private:
  void Serve() {
    while (true) {
      ferry::v1::PlanRequest request;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]()
                         ABSL_NO_THREAD_SAFETY_ANALYSIS { return stopping_ || !queue_.empty(); };
        mu_.Await(absl::Condition(&ready));
        if (stopping_) return;
        request = queue_.front();
        queue_.pop_front();
      }
      if (silent) continue;
      ferry::v1::PlanResult result = answer(request.config());
      result.set_nonce(request.nonce());
      plans_->Answer(node_, result);
    }
  }

  PlanRequests* const plans_;
  const std::string node_;
  absl::Mutex mu_;
  std::deque<ferry::v1::PlanRequest> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<ferry::v1::NodeConfig> asked_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

Object StoredNode(const std::string& name, const std::vector<std::string>& cidrs) {
  Object object;
  ferry::v1::Node* node = object.mutable_node();
  node->set_api_version("ferry.dev/v1");
  node->set_kind("Node");
  node->mutable_metadata()->set_name(name);
  node->mutable_metadata()->set_uid(absl::StrCat(name, "-uid"));
  for (const std::string& cidr : cidrs) {
    auto* a = node->mutable_status()->add_addresses();
    a->set_address(cidr.substr(0, cidr.find('/')));
    a->set_prefix_length(std::stoi(cidr.substr(cidr.find('/') + 1)));
  }
  return object;
}

class ResourceServiceDiffTest : public ResourceServiceFixture {
 protected:
  void SetUp() override { OpenAndServe("ferry-diff", Options()); }

  ResourceServiceImpl::Options Options() {
    ResourceServiceImpl::Options options = FastWatchOptions();
    options.plans = &plans_;
    options.diff_wait = diff_wait_;
    return options;
  }

  // node-a serves 192.0.2.1 and reaches node-b's 10.8.0.2 on its tunnel.
  void RegisterNodes() {
    ASSERT_TRUE(
        store_
            ->Commit({PutOp(StoredNode("node-a", {"192.0.2.1/24", "10.8.0.1/24"}),
                            WriteOp::kMustNotExist),
                      PutOp(StoredNode("node-b", {"10.8.0.2/24"}), WriteOp::kMustNotExist),
                      PutOp(StoredNode("node-c", {"192.0.2.3/24"}), WriteOp::kMustNotExist)})
            .ok());
  }

  grpc::Status Diff(std::vector<Object> objects, DiffResponse* response) {
    ApplyRequest request;
    for (Object& o : objects) *request.add_objects() = std::move(o);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub_->Diff(&context, request, response);
  }

  grpc::Status Apply(std::vector<Object> objects, bool dry_run = false) {
    ApplyRequest request;
    for (Object& o : objects) *request.add_objects() = std::move(o);
    request.set_dry_run(dry_run);
    ferry::v1::ApplyResponse response;
    grpc::ClientContext context;
    return stub_->Apply(&context, request, &response);
  }

  static std::vector<std::string> Names(const DiffResponse& response) {
    std::vector<std::string> names;
    for (const ferry::v1::NodeDiff& node : response.nodes()) names.push_back(node.node());
    return names;
  }

  absl::Duration diff_wait_ = absl::Seconds(10);
  PlanRequests plans_;
};

TEST_F(ResourceServiceDiffTest, EachAffectedNodeAnswersWithItsLinesByNodeNameAndNothingIsWritten) {
  RegisterNodes();
  FakeAgent b(&plans_, "node-b"), a(&plans_, "node-a"), c(&plans_, "node-c");
  const int64_t before = store_->CurrentRevision();
  DiffResponse response;
  grpc::Status status = Diff({TestForward("web", "192.0.2.1", 80)}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(Names(response), ElementsAre("node-a", "node-b"));
  EXPECT_THAT(response.nodes(0).lines(), ElementsAre("+ map dnat4 element 192.0.2.1 . tcp . 80"));
  EXPECT_THAT(response.nodes(1).lines(), ElementsAre("+ route default via 10.8.0.1"));
  EXPECT_EQ(response.nodes(0).error(), "");
  EXPECT_EQ(store_->CurrentRevision(), before);
  // Each agent was sent its whole would-be config; node-c's does not change.
  ASSERT_EQ(a.asked().size(), 1u);
  ASSERT_EQ(a.asked()[0].dnat_size(), 1);
  EXPECT_EQ(a.asked()[0].dnat(0).forward(), "web");
  EXPECT_EQ(a.asked()[0].dnat(0).generation(), 1);
  EXPECT_FALSE(a.asked()[0].version().empty());
  EXPECT_THAT(c.asked(), IsEmpty());
}

TEST_F(ResourceServiceDiffTest, WhatIsStoredAlreadyAffectsNoNodeAndAsksNoAgent) {
  RegisterNodes();
  ASSERT_TRUE(Apply({TestForward("web", "192.0.2.1", 80)}).ok());
  FakeAgent a(&plans_, "node-a"), b(&plans_, "node-b");
  DiffResponse response;
  ASSERT_TRUE(Diff({TestForward("web", "192.0.2.1", 80)}, &response).ok());
  EXPECT_THAT(response.nodes(), IsEmpty());
  EXPECT_THAT(a.asked(), IsEmpty());

  // A changed spec is a new generation: both nodes' configs change.
  response.Clear();
  ASSERT_TRUE(Diff({TestForward("web", "192.0.2.1", 81)}, &response).ok());
  EXPECT_THAT(Names(response), ElementsAre("node-a", "node-b"));
  ASSERT_EQ(a.asked().size(), 1u);
  EXPECT_EQ(a.asked()[0].dnat(0).port(), 81u);
  EXPECT_EQ(a.asked()[0].dnat(0).generation(), 2);
}

TEST_F(ResourceServiceDiffTest, InvalidInputIsTheDryRunsErrorAndAsksNoAgent) {
  RegisterNodes();
  FakeAgent a(&plans_, "node-a");
  Object bad = TestForward("web", "192.0.2.1", 80);
  bad.mutable_ip_forward()->mutable_spec()->mutable_ports(0)->set_port(70000);
  DiffResponse response;
  grpc::Status diff = Diff({bad}, &response);
  grpc::Status dry_run = Apply({bad}, /*dry_run=*/true);
  EXPECT_EQ(diff.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(diff.error_message(), dry_run.error_message());
  EXPECT_THAT(diff.error_message(), HasSubstr("ipforward/web: spec.ports[0].port"));
  EXPECT_THAT(a.asked(), IsEmpty());
}

TEST_F(ResourceServiceDiffTest, ANodeWhoseDiffIsUnknownSaysWhyBesideTheOthers) {
  RegisterNodes();
  FakeAgent a(&plans_, "node-a");  // node-b has no stream
  DiffResponse response;
  ASSERT_TRUE(Diff({TestForward("web", "192.0.2.1", 80)}, &response).ok());
  ASSERT_THAT(Names(response), ElementsAre("node-a", "node-b"));
  EXPECT_EQ(response.nodes(0).lines_size(), 1);
  EXPECT_THAT(response.nodes(1).lines(), IsEmpty());
  EXPECT_THAT(response.nodes(1).error(), HasSubstr("not connected"));
}

TEST_F(ResourceServiceDiffTest, AnAgentThatDoesNotAnswerTimesOutWithinTheWait) {
  StopAndClose();
  diff_wait_ = absl::Milliseconds(300);
  OpenAndServe("ferry-diff", Options());
  RegisterNodes();
  FakeAgent a(&plans_, "node-a"), b(&plans_, "node-b");
  b.silent = true;
  const absl::Time start = absl::Now();
  DiffResponse response;
  ASSERT_TRUE(Diff({TestForward("web", "192.0.2.1", 80)}, &response).ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_THAT(Names(response), ElementsAre("node-a", "node-b"));
  EXPECT_EQ(response.nodes(0).error(), "");
  EXPECT_THAT(response.nodes(1).error(), HasSubstr("did not answer within"));
}

TEST_F(ResourceServiceDiffTest, AnAgentsErrorIsTheNodesError) {
  RegisterNodes();
  FakeAgent a(&plans_, "node-a"), b(&plans_, "node-b");
  b.answer = [](const ferry::v1::NodeConfig&) {
    ferry::v1::PlanResult result;
    result.set_error("reading Ferry's rules and routes: operation not permitted");
    return result;
  };
  DiffResponse response;
  ASSERT_TRUE(Diff({TestForward("web", "192.0.2.1", 80)}, &response).ok());
  ASSERT_EQ(response.nodes_size(), 2);
  EXPECT_EQ(response.nodes(1).error(), "reading Ferry's rules and routes: operation not permitted");
}

TEST_F(ResourceServiceDiffTest, AViewerMayNotDiffWhatItMayNotApply) {
  StopAndClose();
  ResourceServiceImpl::Options options = Options();
  options.principal = [](const grpc::ServerContextBase& context) {
    Principal viewer;
    viewer.name = "bob";
    viewer.role = Role::kViewer;
    viewer.source = context.peer();
    return viewer;
  };
  OpenAndServe("ferry-diff", options);
  RegisterNodes();
  FakeAgent a(&plans_, "node-a");
  DiffResponse response;
  grpc::Status status = Diff({TestForward("web", "192.0.2.1", 80)}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("may not apply IPForward"));
  EXPECT_THAT(a.asked(), IsEmpty());
}

TEST_F(ResourceServiceDiffTest, LinesBeyondTheResponsesBudgetAreCounted) {
  StopAndClose();
  ResourceServiceImpl::Options options = Options();
  options.max_diff_bytes = 60;
  OpenAndServe("ferry-diff", options);
  RegisterNodes();
  FakeAgent a(&plans_, "node-a"), b(&plans_, "node-b");
  DiffResponse response;
  ASSERT_TRUE(
      Diff({TestForward("web", "192.0.2.1", 80), TestForward("api", "192.0.2.1", 81)}, &response)
          .ok());
  ASSERT_EQ(response.nodes_size(), 2);
  EXPECT_THAT(response.nodes(0).lines(), ElementsAre("+ map dnat4 element 192.0.2.1 . tcp . 81",
                                                     "... 1 more lines not shown"));
  EXPECT_THAT(response.nodes(1).lines(), ElementsAre("... 2 more lines not shown"));
}

}  // namespace
}  // namespace ferry::controller
