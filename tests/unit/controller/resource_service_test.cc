#include "controller/server/resource_service.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/store/object_codec.h"
#include "controller/store/sqlite_store.h"
#include "ferry/version.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/resource_service_fixture.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

using ferry::v1::ApplyRequest;
using ferry::v1::ApplyResponse;
using ferry::v1::Object;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Object Forward(const std::string& name, const std::string& frontend_address, uint32_t port) {
  return TestForward(name, frontend_address, port);
}

class ResourceServiceTest : public ResourceServiceFixture {
 protected:
  void SetUp() override { OpenAndServe("ferry-rs"); }

  grpc::Status Apply(std::vector<Object> objects, ApplyResponse* response, bool dry_run = false) {
    ApplyRequest request;
    for (auto& o : objects) *request.add_objects() = std::move(o);
    request.set_dry_run(dry_run);
    grpc::ClientContext context;
    return stub_->Apply(&context, request, response);
  }

  std::string ApplyOutcome(const Object& object) {
    ApplyResponse response;
    grpc::Status status = Apply({object}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.results_size() == 1 ? response.results(0).outcome() : "";
  }

  grpc::Status Get(const std::string& name, Object* out) {
    ferry::v1::GetRequest request;
    request.set_kind(ferry::v1::IP_FORWARD);
    request.set_name(name);
    grpc::ClientContext context;
    return stub_->Get(&context, request, out);
  }

  Object MustGet(const std::string& name) {
    Object out;
    grpc::Status status = Get(name, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  std::vector<std::string> ListNames(const std::string& selector) {
    ferry::v1::ListRequest request;
    request.set_kind(ferry::v1::IP_FORWARD);
    request.set_label_selector(selector);
    grpc::ClientContext context;
    auto reader = stub_->List(&context, request);
    std::vector<std::string> names;
    Object object;
    while (reader->Read(&object)) names.push_back(object.ip_forward().metadata().name());
    grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return names;
  }
};

TEST_F(ResourceServiceTest, ApplyNewObjectIsCreatedWithUidAndGeneration1) {
  ApplyResponse response;
  ASSERT_TRUE(Apply({Forward("web", "192.0.2.1", 80)}, &response).ok());
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).outcome(), "created");
  EXPECT_EQ(response.results(0).kind(), "IPForward");
  EXPECT_EQ(response.results(0).name(), "web");
  Object got = MustGet("web");
  const auto& meta = got.ip_forward().metadata();
  EXPECT_EQ(meta.generation(), 1);
  EXPECT_THAT(meta.uid(), ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-["
                                                  "89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_GT(meta.creation_timestamp().seconds(), 0);
  EXPECT_EQ(meta.resource_version(), response.results(0).resource_version());
}

TEST_F(ResourceServiceTest, ReapplyingSameObjectIsUnchangedAndWritesNothing) {
  ASSERT_EQ(ApplyOutcome(Forward("web", "192.0.2.1", 80)), "created");
  int64_t revision = store_->CurrentRevision();
  EXPECT_EQ(ApplyOutcome(Forward("web", "192.0.2.1", 80)), "unchanged");
  EXPECT_EQ(store_->CurrentRevision(), revision);
}

TEST_F(ResourceServiceTest, SpecChangeIsConfiguredAndBumpsGeneration) {
  ApplyOutcome(Forward("web", "192.0.2.1", 80));
  std::string uid = MustGet("web").ip_forward().metadata().uid();
  EXPECT_EQ(ApplyOutcome(Forward("web", "192.0.2.1", 8080)), "configured");
  Object got = MustGet("web");
  const auto& meta = got.ip_forward().metadata();
  EXPECT_EQ(meta.generation(), 2);
  EXPECT_EQ(meta.uid(), uid);
}

TEST_F(ResourceServiceTest, LabelOnlyChangeIsConfiguredWithoutGenerationBump) {
  ApplyOutcome(Forward("web", "192.0.2.1", 80));
  Object labelled = Forward("web", "192.0.2.1", 80);
  (*labelled.mutable_ip_forward()->mutable_metadata()->mutable_labels())["app"] = "web";
  EXPECT_EQ(ApplyOutcome(labelled), "configured");
  Object got = MustGet("web");
  const auto& meta = got.ip_forward().metadata();
  EXPECT_EQ(meta.generation(), 1);
  EXPECT_EQ(meta.labels().at("app"), "web");
}

TEST_F(ResourceServiceTest, ClientStatusIsIgnoredAndStoredStatusKept) {
  ApplyOutcome(Forward("web", "192.0.2.1", 80));
  // The reconciler's status write, straight to the store.
  auto stored = store_->Get(kKindIPForward, "web");
  Object object = *DecodeStored(*stored);
  object.mutable_ip_forward()->mutable_status()->set_observed_generation(1);
  WriteOp op;
  op.kind = kKindIPForward;
  op.name = "web";
  op.value = EncodeForStore(object);
  ASSERT_TRUE(store_->Commit({op}).ok());

  Object update = Forward("web", "192.0.2.1", 8080);
  update.mutable_ip_forward()->mutable_status()->set_observed_generation(99);
  EXPECT_EQ(ApplyOutcome(update), "configured");
  EXPECT_EQ(MustGet("web").ip_forward().status().observed_generation(), 1);
}

TEST_F(ResourceServiceTest, InvalidObjectIsRejectedNamingObjectAndField) {
  Object bad = Forward("web", "not-an-ip", 80);
  ApplyResponse response;
  grpc::Status status = Apply({bad}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("ipforward/web: "), HasSubstr("spec.frontend.address")));
  EXPECT_EQ(store_->CurrentRevision(), 0);
}

TEST_F(ResourceServiceTest, BatchWithOneInvalidObjectWritesNothing) {
  ApplyResponse response;
  grpc::Status status =
      Apply({Forward("good", "192.0.2.1", 80), Forward("bad", "192.0.2.1", 0)}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("ipforward/bad"));
  Object ignored;
  EXPECT_EQ(Get("good", &ignored).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ResourceServiceTest, BatchIsWrittenInOneRevision) {
  ApplyResponse response;
  ASSERT_TRUE(
      Apply({Forward("a", "192.0.2.1", 80), Forward("b", "192.0.2.1", 81)}, &response).ok());
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).resource_version(), response.results(1).resource_version());
}

TEST_F(ResourceServiceTest, ConflictWithStoredForwardIsRejectedNamingBoth) {
  ApplyOutcome(Forward("web", "192.0.2.1", 80));
  ApplyResponse response;
  grpc::Status status = Apply({Forward("web2", "192.0.2.1", 80)}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("ipforward/web2"), HasSubstr("ipforward/web")));
  Object ignored;
  EXPECT_EQ(Get("web2", &ignored).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ResourceServiceTest, ConflictWithinOneRequestIsRejected) {
  ApplyResponse response;
  grpc::Status status =
      Apply({Forward("one", "192.0.2.1", 80), Forward("two", "192.0.2.1", 80)}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(store_->CurrentRevision(), 0);
}

TEST_F(ResourceServiceTest, StaleResourceVersionIsAborted) {
  ApplyOutcome(Forward("web", "192.0.2.1", 80));
  std::string old_version = MustGet("web").ip_forward().metadata().resource_version();
  ApplyOutcome(Forward("web", "192.0.2.1", 81));
  std::string current = MustGet("web").ip_forward().metadata().resource_version();

  Object stale = Forward("web", "192.0.2.1", 82);
  stale.mutable_ip_forward()->mutable_metadata()->set_resource_version(old_version);
  ApplyResponse response;
  grpc::Status status = Apply({stale}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(status.error_message(),
            absl::StrCat("ipforward/web: the object has been modified; resourceVersion ",
                         old_version, " is stale (current ", current, ")"));
}

TEST_F(ResourceServiceTest, CurrentResourceVersionIsAccepted) {
  ApplyOutcome(Forward("web", "192.0.2.1", 80));
  Object update = Forward("web", "192.0.2.1", 81);
  update.mutable_ip_forward()->mutable_metadata()->set_resource_version(
      MustGet("web").ip_forward().metadata().resource_version());
  EXPECT_EQ(ApplyOutcome(update), "configured");
}

TEST_F(ResourceServiceTest, DryRunReportsOutcomeButWritesNothing) {
  ApplyResponse response;
  ASSERT_TRUE(Apply({Forward("web", "192.0.2.1", 80)}, &response, /*dry_run=*/true).ok());
  EXPECT_EQ(response.results(0).outcome(), "created");
  EXPECT_EQ(store_->CurrentRevision(), 0);
}

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

TEST_F(ResourceServiceTest, DryRunReportsWhetherTheFleetWouldAcceptEachForward) {
  ApplyResponse response;
  ASSERT_TRUE(Apply({Forward("web", "192.0.2.1", 80)}, &response, /*dry_run=*/true).ok());
  ASSERT_TRUE(response.results(0).has_accepted());
  const ferry::v1::Condition& rejected = response.results(0).accepted();
  EXPECT_EQ(rejected.type(), "Accepted");
  EXPECT_EQ(rejected.status(), "False");
  EXPECT_EQ(rejected.reason(), "FrontendNodeNotRegistered");
  EXPECT_EQ(rejected.message(), "spec.frontend.nodeName: node node-a is not registered");
  EXPECT_EQ(rejected.observed_generation(), 1);

  // With both nodes registered, and node-a on node-b's tunnel subnet for
  // the return hop, the same forward would be accepted; still nothing is
  // written.
  ASSERT_TRUE(store_
                  ->Commit({PutOp(StoredNode("node-a", {"192.0.2.1/24", "10.8.0.1/24"}),
                                  WriteOp::kMustNotExist),
                            PutOp(StoredNode("node-b", {"10.8.0.2/24"}), WriteOp::kMustNotExist)})
                  .ok());
  const int64_t before = store_->CurrentRevision();
  response.Clear();
  ASSERT_TRUE(Apply({Forward("web", "192.0.2.1", 80)}, &response, /*dry_run=*/true).ok());
  EXPECT_EQ(response.results(0).outcome(), "created");
  EXPECT_EQ(response.results(0).accepted().status(), "True");
  EXPECT_EQ(response.results(0).accepted().reason(), "Accepted");
  EXPECT_EQ(store_->CurrentRevision(), before);

  // A real apply reports no acceptance: the forward's status does.
  response.Clear();
  ASSERT_TRUE(Apply({Forward("web", "192.0.2.1", 80)}, &response).ok());
  EXPECT_FALSE(response.results(0).has_accepted());
}

TEST_F(ResourceServiceTest, GetMissingIsNotFoundWithKindAndName) {
  Object out;
  grpc::Status status = Get("web", &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "ipforward \"web\" not found");
}

TEST_F(ResourceServiceTest, ListFiltersByLabelSelector) {
  Object a = Forward("a", "192.0.2.1", 80);
  (*a.mutable_ip_forward()->mutable_metadata()->mutable_labels())["tier"] = "web";
  Object b = Forward("b", "192.0.2.1", 81);
  (*b.mutable_ip_forward()->mutable_metadata()->mutable_labels())["tier"] = "db";
  Object c = Forward("c", "192.0.2.1", 82);
  (*c.mutable_ip_forward()->mutable_metadata()->mutable_labels())["tier"] = "web";
  ApplyResponse response;
  ASSERT_TRUE(Apply({a, b, c}, &response).ok());
  EXPECT_THAT(ListNames("tier=web"), ElementsAre("a", "c"));
  EXPECT_THAT(ListNames(""), ElementsAre("a", "b", "c"));
}

TEST_F(ResourceServiceTest, DeleteRemovesObjectAndMissingIsNotFound) {
  ApplyOutcome(Forward("web", "192.0.2.1", 80));
  ferry::v1::DeleteRequest request;
  request.set_kind(ferry::v1::IP_FORWARD);
  request.set_name("web");
  ferry::v1::DeleteResponse response;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Delete(&context, request, &response).ok());
  }
  Object ignored;
  EXPECT_EQ(Get("web", &ignored).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext context;
  grpc::Status again = stub_->Delete(&context, request, &response);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ResourceServiceTest, DeleteWithStaleResourceVersionIsAborted) {
  ApplyOutcome(Forward("web", "192.0.2.1", 80));
  std::string old_version = MustGet("web").ip_forward().metadata().resource_version();
  ApplyOutcome(Forward("web", "192.0.2.1", 81));
  ferry::v1::DeleteRequest request;
  request.set_kind(ferry::v1::IP_FORWARD);
  request.set_name("web");
  request.set_resource_version(old_version);
  ferry::v1::DeleteResponse response;
  grpc::ClientContext context;
  EXPECT_EQ(stub_->Delete(&context, request, &response).error_code(), grpc::StatusCode::ABORTED);
  MustGet("web");
}

TEST_F(ResourceServiceTest, WatchStreamsAddedModifiedDeletedAfterRevision) {
  ApplyOutcome(Forward("old", "192.0.2.1", 79));
  ferry::v1::WatchRequest request;
  request.set_kind(ferry::v1::IP_FORWARD);
  request.set_resource_version(absl::StrCat(store_->CurrentRevision()));
  ApplyOutcome(Forward("web", "192.0.2.1", 80));
  ApplyOutcome(Forward("web", "192.0.2.1", 81));
  ferry::v1::DeleteRequest del;
  del.set_kind(ferry::v1::IP_FORWARD);
  del.set_name("web");
  ferry::v1::DeleteResponse deleted;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->Delete(&context, del, &deleted).ok());
  }

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = stub_->Watch(&context, request);
  std::vector<ferry::v1::WatchEvent::Type> types;
  ferry::v1::WatchEvent event;
  while (types.size() < 3 && reader->Read(&event)) {
    EXPECT_EQ(event.object().ip_forward().metadata().name(), "web");
    types.push_back(event.type());
  }
  EXPECT_THAT(types, ElementsAre(ferry::v1::WatchEvent::ADDED, ferry::v1::WatchEvent::MODIFIED,
                                 ferry::v1::WatchEvent::DELETED));
  EXPECT_EQ(event.resource_version(), deleted.resource_version());
  context.TryCancel();
  reader->Finish();
}

TEST_F(ResourceServiceTest, WatchFromNowDeliversLaterWrites) {
  ferry::v1::WatchRequest request;
  request.set_kind(ferry::v1::IP_FORWARD);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = stub_->Watch(&context, request);
  // The server sends initial metadata once it has fixed the watch's start
  // revision; any write after that must be delivered.
  reader->WaitForInitialMetadata();
  std::thread writer([this] { ApplyOutcome(Forward("web", "192.0.2.1", 80)); });
  ferry::v1::WatchEvent event;
  bool read = reader->Read(&event);
  writer.join();
  ASSERT_TRUE(read);
  EXPECT_EQ(event.type(), ferry::v1::WatchEvent::ADDED);
  EXPECT_EQ(event.object().ip_forward().metadata().name(), "web");
  context.TryCancel();
  reader->Finish();
}

TEST_F(ResourceServiceTest, WatchFromCompactedRevisionIsOutOfRange) {
  SqliteStore::Options options;
  options.retained_changes = 1;
  options.compact_every = 1;
  StopAndClose();
  std::filesystem::remove_all(dir_);
  store_ = std::move(*SqliteStore::Open(dir_, options));
  Serve();
  for (uint32_t port = 80; port < 84; ++port) ApplyOutcome(Forward("web", "192.0.2.1", port));

  ferry::v1::WatchRequest request;
  request.set_resource_version("1");
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = stub_->Watch(&context, request);
  ferry::v1::WatchEvent event;
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(status.error_message(), HasSubstr("resourceVersion too old; re-list"));
}

Object Event(const std::string& name) {
  Object object;
  auto* e = object.mutable_event();
  e->set_api_version("ferry.dev/v1");
  e->set_kind("Event");
  e->mutable_metadata()->set_name(name);
  e->mutable_involved_object()->set_kind("IPForward");
  e->mutable_involved_object()->set_name("web");
  e->set_reason("DriftDetected");
  e->set_count(1);
  return object;
}

TEST_F(ResourceServiceTest, ApplyOfAnEventIsRejectedAsControllerOwned) {
  ApplyResponse response;
  grpc::Status status = Apply({Forward("web", "192.0.2.1", 80), Event("web.0badf00d")}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), AllOf(HasSubstr("event/web.0badf00d"),
                                            HasSubstr("events are written by the controller")));
  Object out;
  EXPECT_EQ(Get("web", &out).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ResourceServiceTest, DeleteOfAnEventIsRejectedAsControllerOwned) {
  WriteOp op;
  op.kind = kKindEvent;
  op.name = "web.0badf00d";
  op.value = EncodeForStore(Event("web.0badf00d"));
  ASSERT_TRUE(store_->Commit({op}).ok());
  ferry::v1::DeleteRequest request;
  request.set_kind(ferry::v1::EVENT);
  request.set_name("web.0badf00d");
  ferry::v1::DeleteResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub_->Delete(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("events are written by the controller"));
  EXPECT_TRUE(store_->Get(kKindEvent, "web.0badf00d").ok());
}

TEST_F(ResourceServiceTest, EventsCanBeReadListedAndWatched) {
  ferry::v1::WatchRequest watch_request;
  watch_request.set_kind(ferry::v1::EVENT);
  watch_request.set_resource_version(absl::StrCat(store_->CurrentRevision()));
  WriteOp op;
  op.kind = kKindEvent;
  op.name = "web.0badf00d";
  op.value = EncodeForStore(Event("web.0badf00d"));
  ASSERT_TRUE(store_->Commit({op}).ok());

  ferry::v1::GetRequest get;
  get.set_kind(ferry::v1::EVENT);
  get.set_name("web.0badf00d");
  Object got;
  grpc::ClientContext get_context;
  ASSERT_TRUE(stub_->Get(&get_context, get, &got).ok());
  EXPECT_EQ(got.event().reason(), "DriftDetected");
  EXPECT_FALSE(got.event().metadata().resource_version().empty());

  ferry::v1::ListRequest list;
  list.set_kind(ferry::v1::EVENT);
  grpc::ClientContext list_context;
  auto reader = stub_->List(&list_context, list);
  std::vector<std::string> names;
  Object object;
  while (reader->Read(&object)) names.push_back(object.event().metadata().name());
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_THAT(names, ElementsAre("web.0badf00d"));

  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto watch = stub_->Watch(&watch_context, watch_request);
  ferry::v1::WatchEvent event;
  ASSERT_TRUE(watch->Read(&event));
  EXPECT_EQ(event.type(), ferry::v1::WatchEvent::ADDED);
  EXPECT_EQ(event.object().event().metadata().name(), "web.0badf00d");
  watch_context.TryCancel();
}

}  // namespace
}  // namespace ferry::controller

namespace ferry::controller {
namespace {

grpc::Status AskVersion(ferry::v1::ResourceService::Stub& stub, const std::string& role,
                        ferry::v1::VersionResponse* response) {
  grpc::ClientContext context;
  if (!role.empty()) context.AddMetadata("x-test-role", role);
  return stub.Version(&context, ferry::v1::VersionRequest(), response);
}

TEST_F(ResourceServiceTest, VersionIsTheBuildsProjectVersion) {
  ferry::v1::VersionResponse response;
  grpc::Status status = AskVersion(*stub_, "", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.version(), ferry::kFerryVersion);
}

// Callers named by the x-test-role metadata, as the real server names
// them by certificate.
class VersionAuthorizationTest : public ResourceServiceFixture {
 protected:
  void SetUp() override {
    ResourceServiceImpl::Options options = FastWatchOptions();
    options.principal = [](const grpc::ServerContextBase& context) {
      Principal p;
      for (const auto& [key, value] : context.client_metadata()) {
        if (key == "x-test-role") {
          p.name = "someone";
          p.role = ParseRole(std::string(value.data(), value.size()));
        }
      }
      return p;
    };
    OpenAndServe("ferry-version", std::move(options));
  }
};

TEST_F(VersionAuthorizationTest, EveryRoleMayAskTheVersion) {
  for (const std::string role : {"viewer", "editor", "admin", "node"}) {
    ferry::v1::VersionResponse response;
    grpc::Status status = AskVersion(*stub_, role, &response);
    EXPECT_TRUE(status.ok()) << role << ": " << status.error_message();
    EXPECT_EQ(response.version(), ferry::kFerryVersion) << role;
  }
}

TEST_F(VersionAuthorizationTest, AnUnauthenticatedCallerMayNot) {
  ferry::v1::VersionResponse response;
  grpc::Status status = AskVersion(*stub_, "", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("cannot version"));
}

}  // namespace
}  // namespace ferry::controller
