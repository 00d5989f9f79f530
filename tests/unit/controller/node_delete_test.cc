// `ferryctl delete node`: it sticks for a node whose agent is away (the
// fleet does not write it back until the agent connects again), and it is
// refused, saying why, while the node's agent is connected.

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "controller/fleet/fleet_reconciler.h"
#include "controller/server/resource_service.h"
#include "controller/store/object_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/memory_store.h"
#include "tests/unit/controller/recording_push_sink.h"
#include "tests/unit/controller/resource_service_fixture.h"

namespace ferry::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

ferry::v1::Hello HelloOf(const std::string& name) {
  ferry::v1::Hello hello;
  hello.set_node_name(name);
  hello.set_agent_version("0.3.0");
  auto* a = hello.add_addresses();
  a->set_interface("eth0");
  a->set_address("192.0.2.1");
  a->set_prefix_length(24);
  return hello;
}

class NodeDeleteFleetTest : public ::testing::Test {
 protected:
  NodeDeleteFleetTest() : fleet_(&store_, Options()) {}

  FleetReconciler::Options Options() {
    FleetReconciler::Options options;
    options.clock = [this] { return now_; };
    return options;
  }

  void Reconcile() { ASSERT_TRUE(fleet_.ReconcileOnce().ok()); }
  bool Stored(const std::string& name) { return store_.Get(kKindNode, name).ok(); }
  void DeleteNode(const std::string& name) {
    WriteOp op;
    op.type = WriteOp::Type::kDelete;
    op.kind = kKindNode;
    op.name = name;
    ASSERT_TRUE(store_.Commit({op}).ok());
  }

  MemoryStore store_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  FleetReconciler fleet_;
  RecordingPushSink sink_;
};

TEST_F(NodeDeleteFleetTest, ADisconnectedNodesDeletionHoldsUntilItsAgentConnectsAgain) {
  SessionHandle* session = fleet_.Connect("node-x", HelloOf("node-x"), &sink_);
  Reconcile();
  ASSERT_TRUE(Stored("node-x"));
  fleet_.Disconnect(session);
  Reconcile();

  // Deleted through the API, and the hook that forgets the node has not
  // run yet (it runs after the commit): passes must not write it back.
  DeleteNode("node-x");
  for (int pass = 0; pass < 3; ++pass) {
    Reconcile();
    EXPECT_FALSE(Stored("node-x")) << "written back by pass " << pass;
  }
  fleet_.ForgetNode("node-x", absl::UnauthenticatedError("deleted"));
  Reconcile();
  EXPECT_FALSE(Stored("node-x"));

  // Its agent joins again: registered again.
  fleet_.Connect("node-x", HelloOf("node-x"), &sink_);
  Reconcile();
  EXPECT_TRUE(Stored("node-x"));
}

TEST_F(NodeDeleteFleetTest, AnotherNodesDeletionLeavesAConnectedNodeAlone) {
  fleet_.Connect("node-a", HelloOf("node-a"), &sink_);
  RecordingPushSink other;
  SessionHandle* x = fleet_.Connect("node-x", HelloOf("node-x"), &other);
  Reconcile();
  fleet_.Disconnect(x);
  Reconcile();
  DeleteNode("node-x");
  Reconcile();
  EXPECT_TRUE(Stored("node-a"));
  EXPECT_FALSE(Stored("node-x"));
}

TEST_F(NodeDeleteFleetTest, ANewAgentsNodeIsStillRegistered) {
  // Never stored before: not a deletion, a first Hello.
  fleet_.Connect("node-new", HelloOf("node-new"), &sink_);
  Reconcile();
  EXPECT_TRUE(Stored("node-new"));
}

// Through the ResourceService: the refusal for a connected node.
class NodeDeleteServiceTest : public ResourceServiceFixture {
 protected:
  void SetUp() override {
    ResourceServiceImpl::Options options = FastWatchOptions();
    options.on_node_deleted = [this](const std::string& node) {
      absl::MutexLock lock(&mu_);
      deleted_.push_back(node);
    };
    OpenAndServe("ferry-node-delete", std::move(options));
  }

  // A Node as the fleet writes it, with its Connected condition.
  void PutNode(const std::string& name, const std::string& connected) {
    ferry::v1::Object o;
    ferry::v1::Node* node = o.mutable_node();
    node->set_api_version("ferry.dev/v1");
    node->set_kind("Node");
    node->mutable_metadata()->set_name(name);
    node->mutable_metadata()->set_uid("uid-" + name);
    node->mutable_metadata()->set_generation(1);
    ferry::v1::Condition* c = node->mutable_status()->add_conditions();
    c->set_type("Connected");
    c->set_status(connected);
    WriteOp op;
    op.kind = kKindNode;
    op.name = name;
    op.value = EncodeForStore(o);
    ASSERT_TRUE(store_->Commit({op}).ok());
  }

  grpc::Status Delete(const std::string& name) {
    grpc::ClientContext context;
    ferry::v1::DeleteRequest request;
    request.set_kind(ferry::v1::NODE);
    request.set_name(name);
    ferry::v1::DeleteResponse response;
    return stub_->Delete(&context, request, &response);
  }

  std::vector<std::string> Deleted() {
    absl::MutexLock lock(&mu_);
    return deleted_;
  }

  absl::Mutex mu_;
  std::vector<std::string> deleted_ ABSL_GUARDED_BY(mu_);
};

TEST_F(NodeDeleteServiceTest, AConnectedNodeIsNotDeletedAndTheErrorSaysWhy) {
  PutNode("node-a", "True");
  grpc::Status s = Delete("node-a");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(),
            "node node-a's agent is connected; stop it (or revoke its credentials) first");
  EXPECT_TRUE(store_->Get(kKindNode, "node-a").ok());
  EXPECT_THAT(Deleted(), IsEmpty());
}

TEST_F(NodeDeleteServiceTest, ADisconnectedNodeIsDeletedAndForgotten) {
  PutNode("node-x", "False");
  ASSERT_TRUE(Delete("node-x").ok());
  EXPECT_EQ(store_->Get(kKindNode, "node-x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Deleted(), ElementsAre("node-x"));
}

TEST_F(NodeDeleteServiceTest, AnAbsentNodeIsStillNotFound) {
  EXPECT_EQ(Delete("node-none").error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace ferry::controller
