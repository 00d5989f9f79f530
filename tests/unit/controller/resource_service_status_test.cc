// ResourceService serves a forward's status from ForwardStatuses, in place
// of what the store holds: on Get, on List and on Watch, where each
// publication (a marker revision) becomes one MODIFIED event per forward it
// names.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "controller/fleet/forward_statuses.h"
#include "controller/server/resource_service.h"
#include "controller/store/object_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/resource_service_fixture.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

using ferry::v1::Object;
using ferry::v1::WatchEvent;

ForwardStatuses::Bytes Ready(const std::string& value) {
  ferry::v1::IPForwardStatus status;
  auto* c = status.add_conditions();
  c->set_type("Ready");
  c->set_status(value);
  return std::make_shared<const std::string>(status.SerializeAsString());
}

std::string ReadyOf(const Object& o) {
  for (const auto& c : o.ip_forward().status().conditions()) {
    if (c.type() == "Ready") return c.status();
  }
  return "none";
}

class ResourceServiceStatusTest : public ResourceServiceFixture {
 protected:
  void SetUp() override { OpenAndServeWithStatuses("ferry-rss", /*retained_names=*/4); }

  // Stores a forward whose stored value carries a stale status, as an
  // older build wrote it.
  int64_t Store(const std::string& name, uint32_t port) {
    Object o = TestForward(name, "192.0.2.1", port);
    o.mutable_ip_forward()->mutable_status()->add_conditions()->set_type("Stale");
    absl::StatusOr<int64_t> r = store_->Commit({PutOp(o, WriteOp::kAnyRevision)});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : 0;
  }

  Object Get(const std::string& name) {
    ferry::v1::GetRequest request;
    request.set_kind(ferry::v1::IP_FORWARD);
    request.set_name(name);
    grpc::ClientContext context;
    Object out;
    grpc::Status s = stub_->Get(&context, request, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  std::vector<Object> List() {
    ferry::v1::ListRequest request;
    request.set_kind(ferry::v1::IP_FORWARD);
    grpc::ClientContext context;
    auto reader = stub_->List(&context, request);
    std::vector<Object> out;
    Object o;
    while (reader->Read(&o)) out.push_back(o);
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // The first `n` events of a watch of `kind` from `after`, or its status.
  grpc::Status Watch(ferry::v1::ResourceKind kind, int64_t after, size_t n,
                     std::vector<WatchEvent>* events) {
    ferry::v1::WatchRequest request;
    request.set_kind(kind);
    request.set_resource_version(absl::StrCat(after));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto reader = stub_->Watch(&context, request);
    WatchEvent event;
    while (events->size() < n && reader->Read(&event)) events->push_back(event);
    if (events->size() == n) context.TryCancel();
    grpc::Status s = reader->Finish();
    return events->size() == n ? grpc::Status::OK : s;
  }

  // The first `n` events of WatchBatches from `after`, and how many
  // messages carried them.
  std::vector<WatchEvent> WatchBatched(int64_t after, size_t n, int* messages) {
    ferry::v1::WatchRequest request;
    request.set_kind(ferry::v1::IP_FORWARD);
    request.set_resource_version(absl::StrCat(after));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto reader = stub_->WatchBatches(&context, request);
    std::vector<WatchEvent> events;
    ferry::v1::WatchEventBatch batch;
    *messages = 0;
    while (events.size() < n && reader->Read(&batch)) {
      ++*messages;
      for (const WatchEvent& e : batch.events()) events.push_back(e);
    }
    context.TryCancel();
    reader->Finish();
    return events;
  }
};

TEST_F(ResourceServiceStatusTest, ListBatchesSendsTheSameObjectsAndRevisionInFewerMessages) {
  constexpr int kForwards = 600;
  std::vector<ForwardStatuses::Update> updates;
  for (int i = 0; i < kForwards; ++i) {
    const std::string name = absl::StrCat("f", 1000 + i);
    Store(name, 1000 + i);
    if (i % 3 == 0) updates.push_back({name, Ready("True")});
  }
  ASSERT_TRUE(statuses_->Publish(updates).ok());
  std::vector<Object> one_by_one = List();

  ferry::v1::ListRequest request;
  request.set_kind(ferry::v1::IP_FORWARD);
  grpc::ClientContext context;
  auto reader = stub_->ListBatches(&context, request);
  std::vector<Object> batched;
  int messages = 0;
  ferry::v1::ObjectBatch batch;
  while (reader->Read(&batch)) {
    ++messages;
    for (const Object& o : batch.objects()) batched.push_back(o);
  }
  grpc::Status s = reader->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(batched.size(), one_by_one.size());
  for (size_t i = 0; i < batched.size(); ++i) {
    EXPECT_EQ(batched[i].SerializeAsString(), one_by_one[i].SerializeAsString()) << i;
  }
  EXPECT_EQ(ReadyOf(batched[0]), "True");
  EXPECT_LE(messages, 3);  // 256 per batch
  auto revision = context.GetServerTrailingMetadata().find("resource-version");
  ASSERT_NE(revision, context.GetServerTrailingMetadata().end());
  EXPECT_EQ(std::string(revision->second.data(), revision->second.size()),
            absl::StrCat(store_->CurrentRevision()));
}

TEST_F(ResourceServiceStatusTest, WatchBatchesSendsTheSameEventsInFewerMessages) {
  constexpr int kForwards = 300;
  // This test's publication is bigger than the fixture's retention.
  ServeWithStatuses();
  const int64_t start = store_->CurrentRevision();
  std::vector<ForwardStatuses::Update> updates;
  for (int i = 0; i < kForwards; ++i) {
    const std::string name = absl::StrCat("f", 1000 + i);
    Store(name, 1000 + i);
    updates.push_back({name, Ready(i % 2 == 0 ? "True" : "False")});
  }
  ASSERT_TRUE(statuses_->Publish(updates).ok());

  const size_t n = 2 * kForwards;  // each ADDED, then each MODIFIED
  std::vector<WatchEvent> one_by_one;
  ASSERT_TRUE(Watch(ferry::v1::IP_FORWARD, start, n, &one_by_one).ok());
  int messages = 0;
  std::vector<WatchEvent> batched = WatchBatched(start, n, &messages);
  ASSERT_EQ(batched.size(), n);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(batched[i].SerializeAsString(), one_by_one[i].SerializeAsString()) << i;
  }
  EXPECT_LT(messages, static_cast<int>(n) / 2) << "batches of one or two events";
}

TEST_F(ResourceServiceStatusTest, GetAndListServeThePublishedStatusNotTheStoredOne) {
  Store("a", 80);
  Store("b", 81);
  // Nothing published yet: no status, not the stale stored one.
  EXPECT_FALSE(Get("a").ip_forward().has_status());
  ASSERT_TRUE(statuses_->Publish({{"a", Ready("True")}}).ok());
  EXPECT_EQ(ReadyOf(Get("a")), "True");
  std::vector<Object> listed = List();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(ReadyOf(listed[0]), "True");
  EXPECT_FALSE(listed[1].ip_forward().has_status());
}

TEST_F(ResourceServiceStatusTest, APublicationIsOneModifiedEventPerForwardAtItsRevision) {
  const int64_t start = store_->CurrentRevision();
  Store("a", 80);
  Store("b", 81);
  Store("gone", 82);
  absl::StatusOr<int64_t> marker =
      statuses_->Publish({{"a", Ready("True")}, {"gone", Ready("True")}, {"b", Ready("False")}});
  ASSERT_TRUE(marker.ok());
  WriteOp del;
  del.type = WriteOp::Type::kDelete;
  del.kind = kKindIPForward;
  del.name = "gone";
  absl::StatusOr<int64_t> deleted = store_->Commit({del});
  ASSERT_TRUE(deleted.ok());

  std::vector<WatchEvent> events;
  ASSERT_TRUE(Watch(ferry::v1::IP_FORWARD, start, 6, &events).ok());
  ASSERT_EQ(events.size(), 6u);
  // Three ADDED, then the publication, in its order; "gone" was deleted
  // since, so its event is skipped and its DELETED follows.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(events[i].type(), WatchEvent::ADDED);
  EXPECT_EQ(events[3].type(), WatchEvent::MODIFIED);
  EXPECT_EQ(events[3].object().ip_forward().metadata().name(), "a");
  EXPECT_EQ(ReadyOf(events[3].object()), "True");
  EXPECT_EQ(events[3].resource_version(), absl::StrCat(*marker));
  EXPECT_EQ(events[4].object().ip_forward().metadata().name(), "b");
  EXPECT_EQ(ReadyOf(events[4].object()), "False");
  EXPECT_EQ(events[4].resource_version(), absl::StrCat(*marker));
  EXPECT_EQ(events[5].type(), WatchEvent::DELETED);
  EXPECT_EQ(events[5].resource_version(), absl::StrCat(*deleted));
}

// A publication of thousands is expanded from one listing of the stored
// forwards: the same events, in the publication's (name) order, with a
// forward deleted since skipped and one it does not name left out.
TEST_F(ResourceServiceStatusTest, ALargePublicationIsExpandedInOrderFromOneListing) {
  constexpr int kForwards = 5000;
  std::vector<WriteOp> ops;
  std::vector<ForwardStatuses::Update> updates;
  for (int i = 0; i < kForwards; ++i) {
    const std::string name = absl::StrFormat("f-%05d", i);
    ops.push_back(PutOp(TestForward(name, "192.0.2.1", 1 + i), WriteOp::kAnyRevision));
    updates.push_back({name, Ready(i % 3 == 0 ? "False" : "True")});
  }
  ops.push_back(PutOp(TestForward("f-unnamed", "192.0.2.1", 6000), WriteOp::kAnyRevision));
  ASSERT_TRUE(store_->Commit(ops).ok());
  absl::StatusOr<int64_t> marker = statuses_->Publish(std::move(updates));
  ASSERT_TRUE(marker.ok());
  WriteOp del;
  del.type = WriteOp::Type::kDelete;
  del.kind = kKindIPForward;
  del.name = "f-02500";
  ASSERT_TRUE(store_->Commit({del}).ok());

  int messages = 0;
  std::vector<WatchEvent> events = WatchBatched(*marker - 1, kForwards, &messages);
  ASSERT_EQ(events.size(), static_cast<size_t>(kForwards));
  int at = 0;
  for (int i = 0; i < kForwards; ++i) {
    if (i == 2500) continue;
    const WatchEvent& e = events[at++];
    EXPECT_EQ(e.type(), WatchEvent::MODIFIED);
    EXPECT_EQ(e.object().ip_forward().metadata().name(), absl::StrFormat("f-%05d", i));
    EXPECT_EQ(ReadyOf(e.object()), i % 3 == 0 ? "False" : "True");
    EXPECT_EQ(e.resource_version(), absl::StrCat(*marker));
  }
  EXPECT_EQ(events.back().type(), WatchEvent::DELETED);
  EXPECT_EQ(events.back().object().ip_forward().metadata().name(), "f-02500");
}

TEST_F(ResourceServiceStatusTest, AWatchOfNodesSeesNoMarkersAndOneOfAllKindsSeesStatuses) {
  const int64_t start = store_->CurrentRevision();
  Store("a", 80);
  ASSERT_TRUE(statuses_->Publish({{"a", Ready("True")}}).ok());
  Object node;
  node.mutable_node()->set_kind("Node");
  node.mutable_node()->mutable_metadata()->set_name("node-a");
  ASSERT_TRUE(store_->Commit({PutOp(node, WriteOp::kAnyRevision)}).ok());

  std::vector<WatchEvent> nodes;
  ASSERT_TRUE(Watch(ferry::v1::NODE, start, 1, &nodes).ok());
  EXPECT_TRUE(nodes[0].object().has_node());

  std::vector<WatchEvent> all;
  ASSERT_TRUE(Watch(ferry::v1::RESOURCE_KIND_UNSPECIFIED, start, 3, &all).ok());
  EXPECT_EQ(all[0].type(), WatchEvent::ADDED);
  EXPECT_EQ(all[1].type(), WatchEvent::MODIFIED);
  EXPECT_EQ(ReadyOf(all[1].object()), "True");
  EXPECT_TRUE(all[2].object().has_node());
}

TEST_F(ResourceServiceStatusTest, AWatchFromBeforeAForgottenPublicationMustReList) {
  const int64_t start = store_->CurrentRevision();
  Store("a", 80);
  // retained_names is 4: the first publication is forgotten by the third.
  ASSERT_TRUE(statuses_->Publish({{"a", Ready("False")}, {"x", Ready("False")}}).ok());
  ASSERT_TRUE(statuses_->Publish({{"a", Ready("True")}, {"y", Ready("False")}}).ok());
  ASSERT_TRUE(statuses_->Publish({{"z", Ready("True")}}).ok());
  std::vector<WatchEvent> events;
  grpc::Status s = Watch(ferry::v1::IP_FORWARD, start, 10, &events);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE) << s.error_message();
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("re-list"));
}

}  // namespace
}  // namespace ferry::controller
