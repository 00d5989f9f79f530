#include "controller/fleet/forward_statuses.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/memory_store.h"

namespace ferry::controller {
namespace {

using ::testing::ElementsAre;

ForwardStatuses::Bytes Bytes(const std::string& s) {
  return std::make_shared<const std::string>(s);
}

TEST(ForwardStatusesTest, APublicationIsOneMarkerRevisionNamingItsForwards) {
  MemoryStore store;
  ForwardStatuses statuses(&store);
  absl::StatusOr<int64_t> first = statuses.Publish({{"a", Bytes("1")}, {"b", Bytes("2")}});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, store.CurrentRevision());
  absl::StatusOr<std::vector<Change>> log = store.ChangesSince(0, "", 10);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ(log->front().object.kind, ForwardStatuses::kMarkerKind);
  auto named = statuses.ChangedAt(*first);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_THAT(**named, ElementsAre("a", "b"));
  EXPECT_EQ(*statuses.Get("a"), "1");
  EXPECT_EQ(statuses.Get("c"), nullptr);

  // A null status forgets the forward; the change still names it.
  absl::StatusOr<int64_t> second = statuses.Publish({{"a", nullptr}, {"b", Bytes("3")}});
  ASSERT_TRUE(second.ok());
  EXPECT_GT(*second, *first);
  EXPECT_EQ(statuses.Get("a"), nullptr);
  std::vector<ForwardStatuses::Bytes> many = statuses.GetMany({"a", "b"});
  ASSERT_EQ(many.size(), 2u);
  EXPECT_EQ(many[0], nullptr);
  EXPECT_EQ(*many[1], "3");
  EXPECT_THAT(statuses.Names(), ElementsAre("b"));
  EXPECT_THAT(**statuses.ChangedAt(*second), ElementsAre("a", "b"));
}

TEST(ForwardStatusesTest, AFailedMarkerCommitChangesNothing) {
  MemoryStore store;
  ForwardStatuses statuses(&store);
  store.FailNextCommit(absl::UnavailableError("disk full"));
  absl::StatusOr<int64_t> r = statuses.Publish({{"a", Bytes("1")}});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(statuses.Get("a"), nullptr);
  EXPECT_TRUE(statuses.Names().empty());
}

TEST(ForwardStatusesTest, OldChangesBeyondTheRetainedNamesAreOutOfRange) {
  MemoryStore store;
  ForwardStatuses statuses(&store, /*retained_names=*/3);
  const int64_t r1 = *statuses.Publish({{"a", Bytes("1")}, {"b", Bytes("1")}});
  const int64_t r2 = *statuses.Publish({{"c", Bytes("1")}});
  EXPECT_TRUE(statuses.ChangedAt(r1).ok());
  const int64_t r3 = *statuses.Publish({{"d", Bytes("1")}});
  EXPECT_EQ(statuses.ChangedAt(r1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(statuses.ChangedAt(r2).ok());
  EXPECT_TRUE(statuses.ChangedAt(r3).ok());
  // A revision that was never a publication of this table.
  EXPECT_EQ(statuses.ChangedAt(r3 + 100).status().code(), absl::StatusCode::kOutOfRange);
  // The statuses themselves are all kept.
  EXPECT_EQ(statuses.Names().size(), 4u);
}

TEST(ForwardStatusesTest, APinHoldsPublicationsBackUntilItsTableIsTaken) {
  MemoryStore store;
  ForwardStatuses statuses(&store);
  ASSERT_TRUE(statuses.Publish({{"a", Bytes("old")}}).ok());
  ForwardStatuses::Table taken;
  absl::Notification published;
  {
    ForwardStatuses::Pin pin(&statuses);
    const int64_t pinned_at = store.CurrentRevision();
    std::thread publisher([&] {
      ASSERT_TRUE(statuses.Publish({{"a", Bytes("new")}}).ok());
      published.Notify();
    });
    // Whatever the timing, the publication cannot land while pinned: the
    // store's revision and the table stay where the pin found them.
    EXPECT_FALSE(published.HasBeenNotified());
    EXPECT_EQ(store.CurrentRevision(), pinned_at);
    taken = pin.Take();
    publisher.join();
  }
  EXPECT_TRUE(published.HasBeenNotified());
  ASSERT_EQ(taken.count("a"), 1u);
  EXPECT_EQ(*taken.at("a"), "old");
  EXPECT_EQ(*statuses.Get("a"), "new");
}

}  // namespace
}  // namespace ferry::controller
