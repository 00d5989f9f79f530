// ChangeFeed is the one way the snapshot, the stored-forward index and Watch
// follow the store's change log; these pin its contract on the real store.

#include "controller/store/change_feed.h"

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::ElementsAre;

WriteOp Put(const std::string& kind, const std::string& name) {
  WriteOp op;
  op.kind = kind;
  op.name = name;
  op.value = "v";
  return op;
}

std::vector<std::string> Names(const ChangeFeed::Batch& batch) {
  std::vector<std::string> names;
  for (const Change& c : batch.changes) names.push_back(c.object.name);
  return names;
}

class ChangeFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/ferry-feed-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    SqliteStore::Options options;
    options.retained_changes = 4;
    options.compact_every = 1;
    auto store = SqliteStore::Open(dir_, options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(ChangeFeedTest, ReadsInBatchesWithoutSplittingARevision) {
  ASSERT_TRUE(store_->Commit({Put("IPForward", "a"), Put("IPForward", "b")}).ok());
  ASSERT_TRUE(store_->Commit({Put("IPForward", "c")}).ok());
  ChangeFeed feed(store_.get(), "IPForward", /*batch_size=*/1);
  absl::StatusOr<ChangeFeed::Batch> first = feed.Next();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(Names(*first), ElementsAre("a", "b"));  // one revision, whole
  EXPECT_FALSE(first->at_end);
  absl::StatusOr<ChangeFeed::Batch> second = feed.Next();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(Names(*second), ElementsAre("c"));
  absl::StatusOr<ChangeFeed::Batch> last = feed.Next();
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_TRUE(last->changes.empty());
  EXPECT_TRUE(last->at_end);
}

TEST_F(ChangeFeedTest, AtTheEndItSkipsRevisionsOfOtherKinds) {
  ASSERT_TRUE(store_->Commit({Put("IPForward", "a")}).ok());
  absl::StatusOr<int64_t> node_revision = store_->Commit({Put("Node", "node-a")});
  ASSERT_TRUE(node_revision.ok());
  ChangeFeed feed(store_.get(), "IPForward", /*batch_size=*/10);
  absl::StatusOr<ChangeFeed::Batch> batch = feed.Next();
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_THAT(Names(*batch), ElementsAre("a"));
  EXPECT_TRUE(batch->at_end);
  EXPECT_EQ(feed.revision(), *node_revision);
}

TEST_F(ChangeFeedTest, AReaderBehindTheRetainedLogIsToldToReList) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store_->Commit({Put("IPForward", absl::StrCat("f", i))}).ok());
  }
  ChangeFeed feed(store_.get(), "IPForward", /*batch_size=*/10);
  absl::StatusOr<ChangeFeed::Batch> batch = feed.Next();
  EXPECT_TRUE(absl::IsOutOfRange(batch.status())) << batch.status();
  feed.Reset(store_->CurrentRevision());
  batch = feed.Next();
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_TRUE(batch->changes.empty());
  EXPECT_TRUE(batch->at_end);
}

}  // namespace
}  // namespace ferry::controller
