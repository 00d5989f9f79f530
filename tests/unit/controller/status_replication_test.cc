// Statuses shared between controller replicas (ForwardStatuses with
// Options::replicate): what the leader publishes, a follower on the same
// store serves, and its watchers expand the leader's markers.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/fleet/forward_statuses.h"
#include "controller/fleet/status_buckets.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/memory_store.h"

namespace ferry::controller {
namespace {

using ::testing::UnorderedElementsAre;

ForwardStatuses::Bytes Bytes(const std::string& s) {
  return std::make_shared<const std::string>(s);
}

ForwardStatuses::Options Replicated(size_t max_ops = 100) {
  ForwardStatuses::Options options;
  options.replicate = true;
  options.max_commit_ops = max_ops;
  return options;
}

// Waits (bounded) until `follower` serves `expected` for `name`.
bool Serves(const ForwardStatuses& follower, const std::string& name, const std::string& expected) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    ForwardStatuses::Bytes got = follower.Get(name);
    if (got != nullptr && *got == expected) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

TEST(StatusBucketsTest, EncodeDecodeRoundTripsAndRefusesTruncation) {
  StatusBuckets::Bucket bucket;
  bucket.emplace("web", Bytes(std::string("\x08\x01\x00ready", 8)));
  bucket.emplace(std::string(300, 'n'), Bytes(""));
  const std::string value = StatusBuckets::Encode(bucket);
  absl::StatusOr<StatusBuckets::Bucket> decoded = StatusBuckets::Decode(value);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ(*decoded->at("web"), std::string("\x08\x01\x00ready", 8));
  EXPECT_FALSE(StatusBuckets::Decode(value.substr(0, value.size() - 1)).ok());
  EXPECT_EQ(StatusBuckets::Parse(StatusBuckets::Name(7)), 7u);
  EXPECT_EQ(StatusBuckets::Parse("x"), StatusBuckets::kCount);
}

TEST(StatusReplicationTest, AFollowerServesWhatTheLeaderPublishedBeforeAndAfterItStarted) {
  MemoryStore store;
  ForwardStatuses leader(&store, Replicated());
  ASSERT_TRUE(leader.Publish({{"a", Bytes("1")}, {"b", Bytes("2")}}).ok());

  ForwardStatuses follower(&store, Replicated());
  follower.Follow();
  EXPECT_TRUE(Serves(follower, "a", "1"));
  EXPECT_TRUE(Serves(follower, "b", "2"));

  ASSERT_TRUE(leader.Publish({{"a", nullptr}, {"b", Bytes("3")}, {"c", Bytes("4")}}).ok());
  EXPECT_TRUE(Serves(follower, "b", "3"));
  EXPECT_TRUE(Serves(follower, "c", "4"));
  EXPECT_EQ(follower.Get("a"), nullptr);
  EXPECT_EQ(follower.size(), 2u);
}

// A watcher on the follower reads the leader's marker from the store and
// asks which forwards it stands for, possibly before the background
// catch-up has run: the answer is the same as on the leader.
TEST(StatusReplicationTest, AFollowerExpandsTheLeadersMarkerAtOnce) {
  MemoryStore store;
  ForwardStatuses leader(&store, Replicated());
  ForwardStatuses follower(&store, Replicated());
  follower.Follow();
  absl::StatusOr<int64_t> revision =
      leader.Publish({{"web", Bytes("ready")}, {"api", Bytes("pending")}});
  ASSERT_TRUE(revision.ok()) << revision.status();
  auto named = follower.ChangedAt(*revision);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_THAT(**named, UnorderedElementsAre("web", "api"));
  EXPECT_EQ(*follower.Get("web"), "ready");
}

// A publication larger than one commit may carry goes out as several
// markers; every forward is named by exactly one, and served.
TEST(StatusReplicationTest, ALargePublicationIsSplitIntoMarkersThatTogetherNameEveryForward) {
  MemoryStore store;
  ForwardStatuses leader(&store, Replicated(/*max_ops=*/8));
  std::vector<ForwardStatuses::Update> updates;
  for (int i = 0; i < 2000; ++i) updates.push_back({absl::StrCat("f", i), Bytes("ok")});
  const int64_t before = store.CurrentRevision();
  absl::StatusOr<int64_t> last = leader.Publish(std::move(updates));
  ASSERT_TRUE(last.ok()) << last.status();
  absl::StatusOr<std::vector<Change>> log = store.ChangesSince(before, "", 100000);
  ASSERT_TRUE(log.ok());
  std::vector<std::string> named;
  int markers = 0;
  for (const Change& change : *log) {
    if (change.object.kind != ForwardStatuses::kMarkerKind) continue;
    ++markers;
    auto at = leader.ChangedAt(change.object.revision);
    ASSERT_TRUE(at.ok()) << at.status();
    named.insert(named.end(), (*at)->begin(), (*at)->end());
  }
  EXPECT_GT(markers, 1);
  EXPECT_EQ(named.size(), 2000u);
  ForwardStatuses follower(&store, Replicated());
  follower.Follow();
  EXPECT_TRUE(Serves(follower, "f1999", "ok"));
  EXPECT_EQ(follower.size(), 2000u);
}

// Elected, a follower stops adopting: its own publications are the truth.
TEST(StatusReplicationTest, AfterLeadAFollowerPublishesItself) {
  MemoryStore store;
  ForwardStatuses old_leader(&store, Replicated());
  ForwardStatuses follower(&store, Replicated());
  follower.Follow();
  ASSERT_TRUE(old_leader.Publish({{"web", Bytes("old")}}).ok());
  ASSERT_TRUE(Serves(follower, "web", "old"));
  follower.Lead();
  ASSERT_TRUE(follower.Publish({{"web", Bytes("new")}}).ok());
  EXPECT_EQ(*follower.Get("web"), "new");
  ForwardStatuses late(&store, Replicated());
  late.Follow();
  EXPECT_TRUE(Serves(late, "web", "new"));
}

}  // namespace
}  // namespace ferry::controller
