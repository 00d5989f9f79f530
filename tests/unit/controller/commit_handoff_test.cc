// The write path's hand-off of its commits to the fleet's snapshot: what
// is handed off is exactly what a read of the store would decode, only
// what was written, nothing for a dry run or a failed commit; the snapshot
// that takes it ends as one that read the store; a reader waits for a
// commit under way instead of racing it.

#include "controller/store/commit_handoff.h"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "api/lib/objects.h"
#include "controller/fleet/fleet_snapshot.h"
#include "controller/resources/object_writer.h"
#include "controller/store/object_codec.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

using ferry::v1::ApplyRequest;
using ferry::v1::Object;
using google::protobuf::util::MessageDifferencer;

std::shared_ptr<Object> Named(const std::string& name) {
  return std::make_shared<Object>(TestForward(name, "192.0.2.1", 80));
}

TEST(CommitHandoffTest, TakesOnlyTheRevisionAskedForAndDropsOlderOnes) {
  CommitHandoff handoff;
  handoff.Begin();
  handoff.Finish(7, {Named("a")});
  EXPECT_FALSE(handoff.Take(6, absl::ZeroDuration()).has_value());  // later: kept
  std::optional<CommitHandoff::Objects> got = handoff.Take(7, absl::ZeroDuration());
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0]->ip_forward().metadata().name(), "a");
  EXPECT_FALSE(handoff.Take(7, absl::ZeroDuration()).has_value());  // taken once

  handoff.Begin();
  handoff.Finish(8, {Named("b")});
  EXPECT_FALSE(handoff.Take(9, absl::ZeroDuration()).has_value());  // read past it: dropped
  EXPECT_FALSE(handoff.Take(8, absl::ZeroDuration()).has_value());
}

TEST(CommitHandoffTest, AReaderWaitsForACommitUnderWay) {
  CommitHandoff handoff;
  handoff.Begin();
  EXPECT_FALSE(handoff.Take(3, absl::ZeroDuration()).has_value());
  // With nothing finished, a reader waits out its whole wait.
  const absl::Time start = absl::Now();
  EXPECT_FALSE(handoff.Take(3, absl::Milliseconds(200)).has_value());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  std::optional<CommitHandoff::Objects> got;
  std::thread reader([&] { got = handoff.Take(3, absl::Seconds(30)); });
  handoff.Finish(3, {Named("a")});
  reader.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size(), 1u);

  handoff.Begin();
  handoff.Abandon();  // a failed commit releases the reader at once
  EXPECT_FALSE(handoff.Take(4, absl::Seconds(30)).has_value());
}

class WriterHandoffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenTestStore("ferry-handoff", &dir_);
    ASSERT_NE(store_, nullptr);
    writer_ = std::make_unique<ObjectWriter>(store_.get(), nullptr, &handoff_);
  }
  void TearDown() override {
    writer_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  absl::StatusOr<int64_t> Apply(std::initializer_list<Object> objects, bool dry_run = false) {
    ApplyRequest request;
    for (const Object& o : objects) *request.add_objects() = o;
    request.set_dry_run(dry_run);
    absl::StatusOr<ferry::v1::ApplyResponse> response = writer_->Apply(&request);
    if (!response.ok()) return response.status();
    return store_->CurrentRevision();
  }

  // Each handed-off object against a decode of what the store holds for
  // it, as the snapshot keeps it. Returns the names.
  std::set<std::string> ExpectHandedOffAsStored(int64_t revision) {
    std::optional<CommitHandoff::Objects> objects = handoff_.Take(revision, absl::ZeroDuration());
    EXPECT_TRUE(objects.has_value()) << "nothing handed off at " << revision;
    std::set<std::string> names;
    if (!objects.has_value()) return names;
    for (const std::shared_ptr<Object>& object : *objects) {
      const std::string name = api::ObjectName(*object);
      names.insert(name);
      absl::StatusOr<StoredObject> stored = store_->Get(api::KindName(*object), name);
      EXPECT_TRUE(stored.ok()) << name;
      if (!stored.ok()) continue;
      EXPECT_EQ(stored->revision, revision) << name;
      absl::StatusOr<Object> decoded = DecodeStored(*stored);
      EXPECT_TRUE(decoded.ok()) << decoded.status();
      if (!decoded.ok()) continue;
      api::MutableMetaOf(&*decoded)->clear_resource_version();
      if (decoded->has_ip_forward()) decoded->mutable_ip_forward()->clear_status();
      std::string diff;
      MessageDifferencer differ;
      differ.ReportDifferencesToString(&diff);
      EXPECT_TRUE(differ.Compare(*decoded, *object)) << name << ": " << diff;
    }
    return names;
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  CommitHandoff handoff_;
  std::unique_ptr<ObjectWriter> writer_;
};

TEST_F(WriterHandoffTest, HandsOffWhatTheStoreHoldsAndOnlyWhatWasWritten) {
  Object labelled = TestForward("web", "192.0.2.1", 80);
  (*labelled.mutable_ip_forward()->mutable_metadata()->mutable_labels())["app"] = "web";
  Object with_status = TestForward("db", "192.0.2.1", 5432);
  with_status.mutable_ip_forward()->mutable_status()->add_conditions()->set_type("Ready");
  Object node;
  node.mutable_node()->set_api_version("ferry.dev/v1");
  node.mutable_node()->set_kind("Node");
  node.mutable_node()->mutable_metadata()->set_name("node-c");
  absl::StatusOr<int64_t> created = Apply({labelled, with_status, node});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(ExpectHandedOffAsStored(*created), (std::set<std::string>{"web", "db", "node-c"}));

  // A new spec, new labels, and one unchanged: the two changed ones only.
  Object moved = TestForward("web", "192.0.2.1", 81);
  (*moved.mutable_ip_forward()->mutable_metadata()->mutable_labels())["app"] = "web";
  Object relabelled = TestForward("db", "192.0.2.1", 5432);
  (*relabelled.mutable_ip_forward()->mutable_metadata()->mutable_labels())["tier"] = "data";
  Object third = TestForward("cache", "192.0.2.1", 6379);
  ASSERT_TRUE(Apply({third}).ok());
  ASSERT_FALSE(ExpectHandedOffAsStored(store_->CurrentRevision()).empty());
  absl::StatusOr<int64_t> updated = Apply({moved, relabelled, third});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(ExpectHandedOffAsStored(*updated), (std::set<std::string>{"web", "db"}));
}

TEST_F(WriterHandoffTest, NothingIsHandedOffForADryRunOrARefusedApply) {
  ASSERT_TRUE(Apply({TestForward("web", "192.0.2.1", 80)}, /*dry_run=*/true).ok());
  EXPECT_FALSE(handoff_.Take(store_->CurrentRevision() + 1, absl::ZeroDuration()).has_value());
  ASSERT_TRUE(Apply({TestForward("web", "192.0.2.1", 80)}).ok());
  const int64_t revision = store_->CurrentRevision();
  // The same frontend port under another name conflicts: nothing written.
  EXPECT_FALSE(Apply({TestForward("other", "192.0.2.1", 80)}).ok());
  EXPECT_EQ(store_->CurrentRevision(), revision);
  EXPECT_EQ(ExpectHandedOffAsStored(revision), (std::set<std::string>{"web"}));
  EXPECT_FALSE(handoff_.Take(revision + 1, absl::ZeroDuration()).has_value());
}

TEST_F(WriterHandoffTest, ASnapshotThatTakesTheHandoffEqualsOneThatReadsTheStore) {
  FleetSnapshot taking(store_.get(), &handoff_);
  FleetSnapshot reading(store_.get());
  ASSERT_TRUE(taking.Refresh().ok());
  ASSERT_TRUE(reading.Refresh().ok());
  ASSERT_TRUE(
      Apply({TestForward("web", "192.0.2.1", 80), TestForward("db", "192.0.2.1", 5432)}).ok());
  Object moved = TestForward("web", "192.0.2.1", 81);
  ASSERT_TRUE(Apply({moved}).ok());  // two revisions: the first is read back
  absl::StatusOr<FleetSnapshot::Changes> took = taking.Refresh();
  absl::StatusOr<FleetSnapshot::Changes> read = reading.Refresh();
  ASSERT_TRUE(took.ok()) << took.status();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(took->specs, read->specs);
  EXPECT_EQ(took->statuses, read->statuses);
  ASSERT_EQ(taking.forwards().size(), reading.forwards().size());
  for (const auto& [name, stored] : reading.forwards()) {
    const FleetSnapshot::StoredForward& held = taking.forwards().at(name);
    EXPECT_EQ(held.revision, stored.revision) << name;
    EXPECT_EQ(held.forward->name, stored.forward->name);
    EXPECT_TRUE(held.forward->SameInputs(*stored.forward)) << name;
  }

  // The next apply is the very next revision: it is taken, not read.
  ASSERT_TRUE(Apply({TestForward("cache", "192.0.2.1", 6379)}).ok());
  took = taking.Refresh();
  ASSERT_TRUE(took.ok()) << took.status();
  EXPECT_EQ(took->specs, (std::set<std::string>{"cache"}));
  EXPECT_FALSE(handoff_.Take(store_->CurrentRevision(), absl::ZeroDuration()).has_value());
  ASSERT_TRUE(reading.Refresh().ok());
  EXPECT_TRUE(
      taking.forwards().at("cache").forward->SameInputs(*reading.forwards().at("cache").forward));
}

TEST_F(WriterHandoffTest, ASnapshotTakesTheHandoffInsteadOfReadingTheStore) {
  FleetSnapshot taking(store_.get(), &handoff_);
  ASSERT_TRUE(taking.Refresh().ok());
  Object web = TestForward("web", "192.0.2.1", 80);
  absl::StatusOr<int64_t> revision = store_->Commit({PutOp(web, WriteOp::kMustNotExist)});
  ASSERT_TRUE(revision.ok()) << revision.status();
  // Marked, so that where the snapshot got it from shows; the snapshot
  // keeps the handed spec's parts themselves, moved, not copies.
  auto handed = std::make_shared<Object>(web);
  handed->mutable_ip_forward()->mutable_metadata()->set_generation(7);
  const ferry::v1::Frontend* handed_frontend = &handed->ip_forward().spec().frontend();
  handoff_.Begin();
  handoff_.Finish(*revision, {handed});
  absl::StatusOr<FleetSnapshot::Changes> changes = taking.Refresh();
  ASSERT_TRUE(changes.ok()) << changes.status();
  EXPECT_EQ(changes->specs, (std::set<std::string>{"web"}));
  const FleetSnapshot::StoredForward& held = taking.forwards().at("web");
  EXPECT_EQ(held.revision, *revision);
  EXPECT_EQ(&held.forward->spec.frontend(), handed_frontend) << "copied or read back";
  EXPECT_EQ(held.forward->generation, 7);
}

}  // namespace
}  // namespace ferry::controller
