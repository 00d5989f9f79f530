// The write path's in-memory index of stored forwards stays exact: across
// creates, updates, deletes and rename-like sequences through the
// ObjectWriter, and across writes committed straight into the store (specs,
// statuses, deletes, other kinds), with and without a change log compacted
// past it. The oracle is the check the writer made before the index: list
// and decode every stored forward, overlay the request, CheckConflicts.

#include "controller/resources/stored_forward_index.h"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/planner/conflicts.h"
#include "controller/resources/object_writer.h"
#include "controller/store/object_codec.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

using ferry::v1::IPForward;
using ferry::v1::Object;
using google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

std::map<std::string, IPForward> StoredForwards(Store* store) {
  std::map<std::string, IPForward> out;
  absl::StatusOr<int64_t> listed = store->List(kKindIPForward, [&](const StoredObject& s) {
    absl::StatusOr<Object> object = DecodeStored(s);
    EXPECT_TRUE(object.ok()) << object.status();
    if (object.ok()) out[s.name] = object->ip_forward();
    return true;
  });
  EXPECT_TRUE(listed.ok()) << listed.status();
  return out;
}

// The writer's check before the index, verbatim in effect.
absl::Status OracleCheck(Store* store, const std::vector<Object>& request) {
  std::map<std::string, IPForward> after = StoredForwards(store);
  std::set<std::string> changed;
  for (const Object& o : request) {
    const std::string& name = o.ip_forward().metadata().name();
    auto it = after.find(name);
    if (it == after.end() ||
        !MessageDifferencer::Equals(it->second.spec(), o.ip_forward().spec())) {
      changed.insert(name);
    }
  }
  for (const Object& o : request) after[o.ip_forward().metadata().name()] = o.ip_forward();
  std::vector<IPForward> all;
  for (const auto& [name, f] : after) all.push_back(f);
  for (const Object& o : request) {
    const std::string& name = o.ip_forward().metadata().name();
    if (changed.count(name) == 0) continue;
    absl::Status s = CheckConflicts(o.ip_forward(), all);
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat("ipforward/", name, ": ", s.message()));
  }
  return absl::OkStatus();
}

// Few nodes, addresses and ports, so claims collide often.
Object RandomForward(std::mt19937* rng, const std::string& name) {
  auto pick = [rng](int n) { return std::uniform_int_distribution<int>(0, n - 1)(*rng); };
  Object o = TestForward(name, absl::StrCat("192.0.2.", 1 + pick(2)), 80 + pick(10));
  auto* spec = o.mutable_ip_forward()->mutable_spec();
  if (pick(4) == 0) spec->mutable_frontend()->set_node_name("node-c");
  auto* first = spec->mutable_ports(0);
  if (pick(4) == 0) first->set_protocol(ferry::v1::UDP);
  if (pick(3) == 0) first->set_end_port(first->port() + 1 + pick(4));
  if (pick(2) == 0) first->set_target_port(8000 + pick(6));
  if (pick(2) == 0) spec->set_source_ip(ferry::v1::MASQUERADE);
  if (pick(5) == 0) (*o.mutable_ip_forward()->mutable_metadata()->mutable_labels())["v"] = "x";
  return o;
}

class StoredForwardIndexTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/ferry-sfi-", getpid(), "-", GetParam());
    std::filesystem::remove_all(dir_);
    SqliteStore::Options options;
    if (GetParam()) {  // a log so short that catching up often re-lists
      options.retained_changes = 2;
      options.compact_every = 1;
    }
    auto store = SqliteStore::Open(dir_, options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    writer_ = std::make_unique<ObjectWriter>(store_.get());
  }
  void TearDown() override {
    writer_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Applies through the writer and checks its answer against the oracle's.
  absl::Status ApplyChecked(const std::vector<Object>& objects, bool dry_run = false) {
    const absl::Status want = OracleCheck(store_.get(), objects);
    ferry::v1::ApplyRequest request;
    for (const Object& o : objects) *request.add_objects() = o;
    request.set_dry_run(dry_run);
    absl::StatusOr<ferry::v1::ApplyResponse> got = writer_->Apply(&request);
    EXPECT_EQ(got.status(), want);
    return got.status();
  }

  void CommitDirect(WriteOp op) {
    absl::StatusOr<int64_t> r = store_->Commit({op});
    ASSERT_TRUE(r.ok()) << r.status();
  }

  // An index of its own, following the store like the writer's does, must
  // hold exactly the stored names and specs.
  void ExpectExact(StoredForwardIndex* index, int step) {
    ASSERT_TRUE(index->CatchUp().ok()) << "step " << step;
    std::map<std::string, IPForward> stored = StoredForwards(store_.get());
    ASSERT_EQ(index->size(), stored.size()) << "step " << step;
    for (const auto& [name, f] : stored) {
      std::optional<IPForward> held = index->Find(name);
      ASSERT_TRUE(held.has_value()) << name << " at step " << step;
      ASSERT_EQ(held->metadata().name(), name);
      ASSERT_TRUE(MessageDifferencer::Equals(held->spec(), f.spec()))
          << name << " at step " << step;
    }
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<ObjectWriter> writer_;
};

TEST_P(StoredForwardIndexTest, RenameLikeSequenceFreesTheClaimOnDelete) {
  ASSERT_TRUE(ApplyChecked({TestForward("old", "192.0.2.1", 80)}).ok());
  Object renamed = TestForward("new", "192.0.2.1", 80);
  absl::Status refused = ApplyChecked({renamed});
  EXPECT_EQ(refused.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(refused.message(), HasSubstr("already claimed by ipforward/old"));
  ASSERT_TRUE(writer_->Delete(ferry::v1::IP_FORWARD, "old", "").ok());
  EXPECT_TRUE(ApplyChecked({renamed}).ok());
}

TEST_P(StoredForwardIndexTest, ForwardsOfOneBatchThatConflictWithEachOtherAreRefused) {
  absl::Status s =
      ApplyChecked({TestForward("b", "192.0.2.1", 80), TestForward("a", "192.0.2.1", 80)});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr("ipforward/b: "));
  // Nothing of the refused batch lingers in the index.
  EXPECT_TRUE(ApplyChecked({TestForward("c", "192.0.2.1", 80)}).ok());
}

TEST_P(StoredForwardIndexTest, ForwardWrittenStraightIntoTheStoreIsSeenByTheNextApply) {
  ASSERT_TRUE(ApplyChecked({TestForward("a", "192.0.2.1", 80)}).ok());
  WriteOp op;
  op.kind = kKindIPForward;
  op.name = "direct";
  op.value = EncodeForStore(TestForward("direct", "192.0.2.1", 81));
  CommitDirect(op);
  absl::Status s = ApplyChecked({TestForward("b", "192.0.2.1", 81)});
  EXPECT_THAT(s.message(), HasSubstr("already claimed by ipforward/direct"));
}

TEST_P(StoredForwardIndexTest, RandomWritesThroughTheWriterAndAroundItKeepTheIndexExact) {
  std::mt19937 rng(4242);
  auto pick = [&rng](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  auto random_name = [&] { return absl::StrCat("f", pick(24)); };
  StoredForwardIndex follower(store_.get());
  int refused = 0, accepted = 0;
  for (int step = 0; step < 400; ++step) {
    std::map<std::string, IPForward> stored = StoredForwards(store_.get());
    auto random_stored = [&]() -> const IPForward* {
      if (stored.empty()) return nullptr;
      auto it = stored.begin();
      std::advance(it, pick(static_cast<int>(stored.size())));
      return &it->second;
    };
    const int action = pick(10);
    if (action < 4) {  // create, update or both, sometimes a dry run
      std::vector<Object> batch;
      std::set<std::string> names;
      for (int i = 0, n = 1 + pick(4); i < n; ++i) {
        std::string name = random_name();
        if (names.insert(name).second) batch.push_back(RandomForward(&rng, name));
      }
      absl::Status s = ApplyChecked(batch, /*dry_run=*/pick(8) == 0);
      (s.ok() ? accepted : refused)++;
    } else if (action == 4) {  // rename-like: the same spec under a new name
      if (const IPForward* from = random_stored()) {
        Object moved;
        *moved.mutable_ip_forward() = *from;
        moved.mutable_ip_forward()->mutable_metadata()->set_name(random_name());
        moved.mutable_ip_forward()->clear_status();
        moved.mutable_ip_forward()->mutable_metadata()->clear_resource_version();
        ApplyChecked({moved}).IgnoreError();
        ASSERT_TRUE(writer_->Delete(ferry::v1::IP_FORWARD, from->metadata().name(), "").ok());
        ApplyChecked({moved}).IgnoreError();
      }
    } else if (action == 5) {  // delete through the writer
      if (const IPForward* f = random_stored()) {
        ASSERT_TRUE(writer_->Delete(ferry::v1::IP_FORWARD, f->metadata().name(), "").ok());
      }
    } else if (action == 6) {  // a spec written around the writer, unchecked
      WriteOp op;
      op.kind = kKindIPForward;
      op.name = random_name();
      op.value = EncodeForStore(RandomForward(&rng, op.name));
      CommitDirect(op);
    } else if (action == 7) {  // a status write, as the fleet reconciler makes
      if (const IPForward* f = random_stored()) {
        Object o;
        *o.mutable_ip_forward() = *f;
        o.mutable_ip_forward()->mutable_status()->set_observed_generation(step);
        WriteOp op;
        op.kind = kKindIPForward;
        op.name = f->metadata().name();
        op.value = EncodeForStore(o);
        CommitDirect(op);
      }
    } else if (action == 8) {  // a delete around the writer
      if (const IPForward* f = random_stored()) {
        WriteOp op;
        op.type = WriteOp::Type::kDelete;
        op.kind = kKindIPForward;
        op.name = f->metadata().name();
        CommitDirect(op);
      }
    } else {  // another kind advances the revision too
      Object node;
      node.mutable_node()->mutable_metadata()->set_name(absl::StrCat("node-", pick(3)));
      WriteOp op;
      op.kind = kKindNode;
      op.name = node.node().metadata().name();
      op.value = EncodeForStore(node);
      CommitDirect(op);
    }
    if (::testing::Test::HasFailure()) FAIL() << "at step " << step;
    ExpectExact(&follower, step);
  }
  // Both answers were exercised.
  EXPECT_GT(accepted, 30);
  EXPECT_GT(refused, 30);
}

INSTANTIATE_TEST_SUITE_P(ChangeLog, StoredForwardIndexTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Compacted" : "Retained";
                         });

TEST(ForwardSpecBytesTest, FindsTheSpecOfAStoredForwardAndRefusesOtherValues) {
  Object o = TestForward("web", "192.0.2.1", 80);
  o.mutable_ip_forward()->mutable_status()->set_observed_generation(3);
  std::optional<absl::string_view> spec = ForwardSpecBytes(EncodeForStore(o));
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(*spec, o.ip_forward().spec().SerializeAsString());
  Object node;
  node.mutable_node()->mutable_metadata()->set_name("n");
  EXPECT_FALSE(ForwardSpecBytes(EncodeForStore(node)).has_value());
  EXPECT_FALSE(ForwardSpecBytes("\xff\xff garbage").has_value());
}

}  // namespace
}  // namespace ferry::controller
