// ResourceService authorization and audit: who may do what, that a refused
// call changes nothing, and what the audit log records for each call.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "controller/server/resource_service.h"
#include "controller/store/object_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/resource_service_fixture.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

using ferry::v1::ApplyRequest;
using ferry::v1::ApplyResponse;
using ferry::v1::Object;
using ::testing::ElementsAre;

class RecordingAudit : public AuditSink {
 public:
  void Record(const AuditEntry& entry) override {
    absl::MutexLock lock(&mu_);
    entries_.push_back(entry);
  }
  std::vector<AuditEntry> entries() {
    absl::MutexLock lock(&mu_);
    return entries_;
  }

 private:
  absl::Mutex mu_;
  std::vector<AuditEntry> entries_ ABSL_GUARDED_BY(mu_);
};

// "user role verb kind name resourceVersion allowed outcome", for matching.
std::string Summary(const AuditEntry& e) {
  return absl::StrCat(e.user, " ", e.role, " ", e.verb, " ", e.kind, " ", e.name, " ",
                      e.resource_version, " ", e.allowed ? "allowed" : "refused", " ", e.outcome);
}

class SecureResourceServiceTest : public ResourceServiceFixture {
 protected:
  void SetUp() override {
    AdmissionPolicy policy;
    policy.reserved_ports = {22};
    admission_ = std::make_unique<Admission>(policy);
    ResourceServiceImpl::Options options = FastWatchOptions();
    options.audit = &audit_;
    options.admission = admission_.get();
    // Tests name the caller in metadata; the real server reads the
    // connection (certificate or SO_PEERCRED).
    options.principal = [](const grpc::ServerContextBase& context) {
      Principal p;
      for (const auto& [key, value] : context.client_metadata()) {
        if (key == "x-test-user") p.name = std::string(value.data(), value.size());
        if (key == "x-test-role") p.role = ParseRole(std::string(value.data(), value.size()));
      }
      p.source = "test";
      return p;
    };
    options.on_node_deleted = [this](const std::string& node) {
      absl::MutexLock lock(&mu_);
      deleted_nodes_.push_back(node);
    };
    OpenAndServe("ferry-authz", std::move(options));
  }

  static void As(const std::string& user, const std::string& role, grpc::ClientContext* context) {
    if (!user.empty()) context->AddMetadata("x-test-user", user);
    if (!role.empty()) context->AddMetadata("x-test-role", role);
  }

  grpc::Status Apply(const std::string& user, const std::string& role, std::vector<Object> objects,
                     bool dry_run = false) {
    ApplyRequest request;
    for (Object& o : objects) *request.add_objects() = std::move(o);
    request.set_dry_run(dry_run);
    grpc::ClientContext context;
    As(user, role, &context);
    ApplyResponse response;
    return stub_->Apply(&context, request, &response);
  }

  grpc::Status Delete(const std::string& user, const std::string& role,
                      ferry::v1::ResourceKind kind, const std::string& name) {
    ferry::v1::DeleteRequest request;
    request.set_kind(kind);
    request.set_name(name);
    grpc::ClientContext context;
    As(user, role, &context);
    ferry::v1::DeleteResponse response;
    return stub_->Delete(&context, request, &response);
  }

  grpc::Status Get(const std::string& user, const std::string& role, const std::string& name) {
    ferry::v1::GetRequest request;
    request.set_kind(ferry::v1::IP_FORWARD);
    request.set_name(name);
    grpc::ClientContext context;
    As(user, role, &context);
    Object out;
    return stub_->Get(&context, request, &out);
  }

  static Object NodeObject(const std::string& name) {
    Object node;
    node.mutable_node()->set_api_version("ferry.dev/v1");
    node.mutable_node()->set_kind("Node");
    node.mutable_node()->mutable_metadata()->set_name(name);
    return node;
  }

  std::vector<std::string> AuditSummaries() {
    std::vector<std::string> out;
    for (const AuditEntry& e : audit_.entries()) out.push_back(Summary(e));
    return out;
  }

  bool Stored(const std::string& kind, const std::string& name) {
    return store_->Get(kind, name).ok();
  }

  std::unique_ptr<Admission> admission_;
  RecordingAudit audit_;
  absl::Mutex mu_;
  std::vector<std::string> deleted_nodes_ ABSL_GUARDED_BY(mu_);
};

TEST_F(SecureResourceServiceTest, AViewerIsRefusedAWriteAndNothingChanges) {
  grpc::Status s = Apply("bob", "viewer", {TestForward("web", "192.0.2.1", 80)});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "permission denied: user \"bob\" (viewer) may not apply IPForward");
  EXPECT_EQ(store_->CurrentRevision(), 0);
  ASSERT_EQ(audit_.entries().size(), 1u);
  const AuditEntry e = audit_.entries()[0];
  EXPECT_EQ(Summary(e), "bob viewer apply IPForward web  refused denied");
  EXPECT_EQ(e.reason, s.error_message());
  EXPECT_EQ(e.source, "test");
}

TEST_F(SecureResourceServiceTest, AViewersStreamedApplyIsRefusedAtItsFirstMessage) {
  grpc::ClientContext context;
  As("bob", "viewer", &context);
  ApplyResponse response;
  std::unique_ptr<grpc::ClientWriter<ApplyRequest>> stream =
      stub_->ApplyStream(&context, &response);
  ApplyRequest first;
  *first.add_objects() = TestForward("web", "192.0.2.1", 80);
  stream->Write(first);  // the rest is never read
  stream->WritesDone();
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "permission denied: user \"bob\" (viewer) may not apply IPForward");
  EXPECT_EQ(store_->CurrentRevision(), 0);
  EXPECT_EQ(AuditSummaries(),
            std::vector<std::string>{"bob viewer apply IPForward web  refused denied"});
}

TEST_F(SecureResourceServiceTest, AnEditorsWritesAreAuditedWithOutcomeAndResourceVersion) {
  ASSERT_TRUE(Apply("alice", "editor", {TestForward("web", "192.0.2.1", 80)}).ok());
  ASSERT_TRUE(Apply("alice", "editor", {TestForward("web", "192.0.2.1", 80)}).ok());
  ASSERT_TRUE(Delete("alice", "editor", ferry::v1::IP_FORWARD, "web").ok());
  EXPECT_THAT(AuditSummaries(), ElementsAre("alice editor apply IPForward web 1 allowed created",
                                            "alice editor apply IPForward web 1 allowed unchanged",
                                            "alice editor delete IPForward web 2 allowed deleted"));
}

TEST_F(SecureResourceServiceTest, AnEditorMayNotApplyANodeAndTheWholeApplyIsRefused) {
  grpc::Status s =
      Apply("alice", "editor", {TestForward("web", "192.0.2.1", 80), NodeObject("n1")});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "permission denied: user \"alice\" (editor) may not apply Node");
  EXPECT_EQ(store_->CurrentRevision(), 0);
  EXPECT_THAT(AuditSummaries(), ElementsAre("alice editor apply IPForward web  refused denied",
                                            "alice editor apply Node n1  refused denied"));
}

TEST_F(SecureResourceServiceTest, AViewerMayReadButNotDelete) {
  ASSERT_TRUE(Apply("root", "admin", {TestForward("web", "192.0.2.1", 80)}).ok());
  EXPECT_TRUE(Get("bob", "viewer", "web").ok());
  grpc::Status s = Delete("bob", "viewer", ferry::v1::IP_FORWARD, "web");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Stored(kKindIPForward, "web"));
  EXPECT_EQ(AuditSummaries().back(), "bob viewer delete IPForward web  refused denied");
}

TEST_F(SecureResourceServiceTest, ACallerWithoutIdentityIsUnauthenticatedEvenForReads) {
  grpc::Status s = Get("", "", "web");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("no client certificate"));
  ferry::v1::WatchRequest request;
  grpc::ClientContext context;
  auto reader = stub_->Watch(&context, request);
  ferry::v1::WatchEvent event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(AuditSummaries(), ElementsAre(" none get IPForward web  refused denied",
                                            " none watch    refused denied"));
}

TEST_F(SecureResourceServiceTest, ANodeMayNotUseTheResourceApi) {
  ferry::v1::ListRequest request;
  request.set_kind(ferry::v1::IP_FORWARD);
  grpc::ClientContext context;
  As("node-a", "node", &context);
  auto reader = stub_->List(&context, request);
  Object object;
  EXPECT_FALSE(reader->Read(&object));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "permission denied: user \"node-a\" (node) may not list IPForward");
}

TEST_F(SecureResourceServiceTest, DryRunsAreAuditedAsDryRuns) {
  ASSERT_TRUE(Apply("alice", "editor", {TestForward("web", "192.0.2.1", 80)}, true).ok());
  EXPECT_FALSE(Stored(kKindIPForward, "web"));
  EXPECT_THAT(AuditSummaries(),
              ElementsAre("alice editor apply IPForward web  allowed dry-run:created"));
}

TEST_F(SecureResourceServiceTest, AdmissionRefusalsAreInvalidArgumentAndAuditedAsErrors) {
  grpc::Status s = Apply("alice", "editor", {TestForward("ssh", "192.0.2.1", 22)});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "ipforward/ssh: spec.ports[0].port: port 22 is reserved on node-a");
  EXPECT_FALSE(Stored(kKindIPForward, "ssh"));
  ASSERT_EQ(audit_.entries().size(), 1u);
  EXPECT_EQ(Summary(audit_.entries()[0]), "alice editor apply IPForward ssh  allowed error");
  EXPECT_EQ(audit_.entries()[0].reason, s.error_message());
  s = Apply("alice", "editor", {TestForward("ssh", "192.0.2.1", 22)}, /*dry_run=*/true);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(audit_.entries().back().outcome, "dry-run:error");
}

TEST_F(SecureResourceServiceTest, DeletingANodeCallsTheHookAndAFailedDeleteIsAudited) {
  ASSERT_TRUE(
      Apply("root", "admin", {NodeObject("node-a"), TestForward("web", "192.0.2.1", 80)}).ok());
  ASSERT_TRUE(Delete("root", "admin", ferry::v1::IP_FORWARD, "web").ok());
  ASSERT_TRUE(Delete("root", "admin", ferry::v1::NODE, "node-a").ok());
  grpc::Status missing = Delete("root", "admin", ferry::v1::NODE, "node-a");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  {
    absl::MutexLock lock(&mu_);
    EXPECT_THAT(deleted_nodes_, ElementsAre("node-a"));
  }
  const AuditEntry last = audit_.entries().back();
  EXPECT_EQ(Summary(last), "root admin delete Node node-a  allowed error");
  EXPECT_EQ(last.reason, missing.error_message());
}

TEST_F(SecureResourceServiceTest, WithoutAPrincipalFunctionCallersAreTheLocalAdmin) {
  ResourceServiceImpl::Options options;
  options.audit = &audit_;
  ResourceServiceImpl local(store_.get(), options);
  grpc::ServerBuilder builder;
  builder.RegisterService(&local);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = ferry::v1::ResourceService::NewStub(server->InProcessChannel({}));
  ApplyRequest request;
  *request.add_objects() = NodeObject("node-a");
  grpc::ClientContext context;
  ApplyResponse response;
  EXPECT_TRUE(stub->Apply(&context, request, &response).ok());
  EXPECT_THAT(AuditSummaries(), ElementsAre("uid:0 admin apply Node node-a 1 allowed created"));
  server->Shutdown(std::chrono::system_clock::now());
}

TEST_F(SecureResourceServiceTest, WritesAreRateLimitedPerPrincipal) {
  ResourceServiceImpl::Options options;
  options.writes = RateLimit{/*per_second=*/0.001, /*burst=*/1};
  options.principal = [](const grpc::ServerContextBase& context) {
    Principal p;
    auto it = context.client_metadata().find("x-test-user");
    if (it != context.client_metadata().end())
      p.name = std::string(it->second.data(), it->second.size());
    p.role = Role::kEditor;
    return p;
  };
  ResourceServiceImpl limited(store_.get(), options);
  grpc::ServerBuilder builder;
  builder.RegisterService(&limited);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = ferry::v1::ResourceService::NewStub(server->InProcessChannel({}));
  auto apply = [&](const std::string& user, const std::string& name) {
    ApplyRequest request;
    *request.add_objects() = TestForward(name, "192.0.2.1", name == "a" ? 80 : 81);
    grpc::ClientContext context;
    context.AddMetadata("x-test-user", user);
    ApplyResponse response;
    return stub->Apply(&context, request, &response).error_code();
  };
  EXPECT_EQ(apply("alice", "a"), grpc::StatusCode::OK);
  EXPECT_EQ(apply("alice", "a"), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(apply("carol", "b"), grpc::StatusCode::OK);
  server->Shutdown(std::chrono::system_clock::now());
}

}  // namespace
}  // namespace ferry::controller
