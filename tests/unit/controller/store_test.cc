#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

WriteOp Put(const std::string& name, const std::string& value,
            int64_t expected = WriteOp::kAnyRevision) {
  WriteOp op;
  op.kind = "IPForward";
  op.name = name;
  op.value = value;
  op.expected_revision = expected;
  return op;
}

WriteOp Delete(const std::string& name, int64_t expected = WriteOp::kAnyRevision) {
  WriteOp op = Put(name, "", expected);
  op.type = WriteOp::Type::kDelete;
  return op;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/ferry-store-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<SqliteStore> OpenStore(SqliteStore::Options options = {}) {
    auto store = SqliteStore::Open(dir_, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::vector<std::string> ListNames(Store& store) {
    std::vector<std::string> names;
    auto rev = store.List("IPForward", [&](const StoredObject& o) {
      names.push_back(o.name);
      return true;
    });
    EXPECT_TRUE(rev.ok()) << rev.status();
    return names;
  }

  std::string dir_;
};

TEST_F(SqliteStoreTest, OpenCreatesDataDirAndDatabaseFile) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/ferry.db"));
  EXPECT_EQ(store->path(), dir_ + "/ferry.db");
  EXPECT_EQ(store->CurrentRevision(), 0);
}

TEST_F(SqliteStoreTest, CommitStoresValueAndStampsRevision) {
  auto store = OpenStore();
  auto rev = store->Commit({Put("web", "v1")});
  ASSERT_TRUE(rev.ok()) << rev.status();
  auto got = store->Get("IPForward", "web");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->value, "v1");
  EXPECT_EQ(got->revision, *rev);
  EXPECT_EQ(got->create_revision, *rev);
  EXPECT_EQ(store->CurrentRevision(), *rev);
}

TEST_F(SqliteStoreTest, AllOpsOfOneCommitShareOneNewRevision) {
  auto store = OpenStore();
  auto rev = store->Commit({Put("a", "1"), Put("b", "2")});
  ASSERT_TRUE(rev.ok());
  EXPECT_EQ(store->Get("IPForward", "a")->revision, *rev);
  EXPECT_EQ(store->Get("IPForward", "b")->revision, *rev);
  EXPECT_EQ(*rev, 1);
}

TEST_F(SqliteStoreTest, RevisionsIncreaseByOnePerCommit) {
  auto store = OpenStore();
  int64_t last = store->CurrentRevision();
  for (int i = 0; i < 5; ++i) {
    auto rev = store->Commit({Put("web", absl::StrCat("v", i))});
    ASSERT_TRUE(rev.ok());
    EXPECT_EQ(*rev, last + 1);
    last = *rev;
  }
}

TEST_F(SqliteStoreTest, UpdateKeepsCreateRevision) {
  auto store = OpenStore();
  int64_t created = *store->Commit({Put("web", "v1")});
  int64_t updated = *store->Commit({Put("web", "v2")});
  auto got = store->Get("IPForward", "web");
  EXPECT_EQ(got->create_revision, created);
  EXPECT_EQ(got->revision, updated);
}

TEST_F(SqliteStoreTest, GetMissingIsNotFound) {
  auto store = OpenStore();
  EXPECT_EQ(store->Get("IPForward", "nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, EmptyCommitReturnsCurrentRevision) {
  auto store = OpenStore();
  int64_t rev = *store->Commit({Put("web", "v1")});
  EXPECT_EQ(*store->Commit({}), rev);
}

TEST_F(SqliteStoreTest, MustNotExistPreconditionFailsOnExistingKey) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Commit({Put("web", "v1")}).ok());
  auto rev = store->Commit({Put("web", "v2", WriteOp::kMustNotExist)});
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(rev.status().message(), HasSubstr("IPForward/web"));
  EXPECT_EQ(store->Get("IPForward", "web")->value, "v1");
}

// Creates skip the lookup and rely on the insert finding the key: one that
// exists still fails the whole commit, naming it with its revision, and
// the creates before it in the same commit are rolled back.
TEST_F(SqliteStoreTest, CreateOfExistingKeyAmongCreatesWritesNothing) {
  auto store = OpenStore();
  int64_t first = *store->Commit({Put("web", "v1")});
  auto rev = store->Commit({Put("a", "x", WriteOp::kMustNotExist),
                            Put("web", "v2", WriteOp::kMustNotExist),
                            Put("z", "y", WriteOp::kMustNotExist)});
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(rev.status().message(),
              HasSubstr(absl::StrCat("IPForward/web already exists (revision ", first, ")")));
  EXPECT_EQ(store->CurrentRevision(), first);
  EXPECT_EQ(store->Get("IPForward", "a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Get("IPForward", "web")->value, "v1");
  auto changes = store->ChangesSince(first, "", 100);
  ASSERT_TRUE(changes.ok()) << changes.status();
  EXPECT_TRUE(changes->empty());

  int64_t created = *store->Commit({Put("a", "x", WriteOp::kMustNotExist)});
  auto got = store->Get("IPForward", "a");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->value, "x");
  EXPECT_EQ(got->revision, created);
  EXPECT_EQ(got->create_revision, created);
  changes = store->ChangesSince(first, "", 100);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_TRUE((*changes)[0].created);
  EXPECT_EQ((*changes)[0].object.value, "x");
}

TEST_F(SqliteStoreTest, StaleExpectedRevisionWritesNothing) {
  auto store = OpenStore();
  int64_t first = *store->Commit({Put("web", "v1")});
  ASSERT_TRUE(store->Commit({Put("web", "v2")}).ok());
  int64_t before = store->CurrentRevision();
  auto rev = store->Commit({Put("other", "x"), Put("web", "v3", first)});
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(rev.status().message(), HasSubstr("IPForward/web"));
  EXPECT_EQ(store->Get("IPForward", "other").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->CurrentRevision(), before);
}

TEST_F(SqliteStoreTest, StaleOrMissingExpectedRevisionSaysWhich) {
  auto store = OpenStore();
  int64_t first = *store->Commit({Put("web", "v1")});
  int64_t second = *store->Commit({Put("web", "v2")});
  auto stale = store->Commit({Put("web", "v3", first)});
  EXPECT_THAT(stale.status().message(),
              HasSubstr(absl::StrCat("expected revision ", first, ", current is ", second)));
  auto missing = store->Commit({Put("gone", "v1", first)});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(missing.status().message(), HasSubstr("IPForward/gone"));
  EXPECT_THAT(missing.status().message(), HasSubstr("does not exist"));
}

TEST_F(SqliteStoreTest, MatchingExpectedRevisionSucceeds) {
  auto store = OpenStore();
  int64_t first = *store->Commit({Put("web", "v1")});
  absl::StatusOr<int64_t> second = store->Commit({Put("web", "v2", first)});
  ASSERT_TRUE(second.ok()) << second.status();
  absl::StatusOr<StoredObject> got = store->Get("IPForward", "web");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value, "v2");
  EXPECT_EQ(got->revision, *second);
  EXPECT_EQ(got->create_revision, first);
  auto changes = store->ChangesSince(first, "IPForward", 10);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_FALSE((*changes)[0].created);
  EXPECT_EQ((*changes)[0].object.value, "v2");
}

TEST_F(SqliteStoreTest, DeleteRemovesKeyAndMissingDeleteIsNotFound) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Commit({Put("web", "v1")}).ok());
  ASSERT_TRUE(store->Commit({Delete("web")}).ok());
  EXPECT_EQ(store->Get("IPForward", "web").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Commit({Delete("web")}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, DuplicateKeyInOneCommitIsInvalid) {
  auto store = OpenStore();
  auto rev = store->Commit({Put("web", "1"), Put("web", "2")});
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, ListVisitsOneKindInNameOrder) {
  auto store = OpenStore();
  WriteOp node = Put("node-a", "n");
  node.kind = "Node";
  ASSERT_TRUE(store->Commit({Put("b", "2"), Put("a", "1"), node}).ok());
  EXPECT_THAT(ListNames(*store), ElementsAre("a", "b"));
}

TEST_F(SqliteStoreTest, ListStopsWhenVisitReturnsFalse) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Commit({Put("a", "1"), Put("b", "2"), Put("c", "3")}).ok());
  int visited = 0;
  ASSERT_TRUE(store->List("IPForward", [&](const StoredObject&) { return ++visited < 2; }).ok());
  EXPECT_EQ(visited, 2);
}

TEST_F(SqliteStoreTest, ListSeesOneSnapshotWhileWritesContinue) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Commit({Put("a", "1"), Put("b", "2")}).ok());
  std::vector<std::string> seen;
  auto rev = store->List("IPForward", [&](const StoredObject& o) {
    seen.push_back(o.name);
    if (o.name == "a") {
      // A commit during the visit is not part of this snapshot.
      EXPECT_TRUE(store->Commit({Put("aa", "x"), Delete("b")}).ok());
    }
    return true;
  });
  ASSERT_TRUE(rev.ok());
  EXPECT_EQ(*rev, 1);
  EXPECT_THAT(seen, ElementsAre("a", "b"));
}

TEST_F(SqliteStoreTest, ChangesSinceReturnsPutsAndDeletesInOrder) {
  auto store = OpenStore();
  int64_t r1 = *store->Commit({Put("web", "v1")});
  int64_t r2 = *store->Commit({Put("web", "v2")});
  int64_t r3 = *store->Commit({Delete("web")});
  auto changes = store->ChangesSince(0, "IPForward", 100);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 3u);
  EXPECT_EQ((*changes)[0].object.revision, r1);
  EXPECT_TRUE((*changes)[0].created);
  EXPECT_EQ((*changes)[1].object.revision, r2);
  EXPECT_FALSE((*changes)[1].created);
  EXPECT_EQ((*changes)[1].object.value, "v2");
  EXPECT_EQ((*changes)[2].type, Change::Type::kDelete);
  EXPECT_EQ((*changes)[2].object.revision, r3);
  EXPECT_EQ((*changes)[2].object.value, "v2");  // the value before deletion
}

TEST_F(SqliteStoreTest, ChangesSinceSkipsOlderRevisionsAndOtherKinds) {
  auto store = OpenStore();
  int64_t r1 = *store->Commit({Put("web", "v1")});
  WriteOp node = Put("node-a", "n");
  node.kind = "Node";
  ASSERT_TRUE(store->Commit({node}).ok());
  int64_t r3 = *store->Commit({Put("api", "v1")});
  auto changes = store->ChangesSince(r1, "IPForward", 100);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].object.name, "api");
  EXPECT_EQ((*changes)[0].object.revision, r3);
  EXPECT_EQ(store->ChangesSince(r1, "", 100)->size(), 2u);
}

TEST_F(SqliteStoreTest, ChangesSinceLimitNeverSplitsARevision) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Commit({Put("a", "1"), Put("b", "2")}).ok());
  ASSERT_TRUE(store->Commit({Put("c", "3")}).ok());
  auto changes = store->ChangesSince(0, "", 1);
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(changes->size(), 2u);
}

TEST_F(SqliteStoreTest, ChangesSinceCompactedRevisionIsOutOfRange) {
  SqliteStore::Options options;
  options.retained_changes = 2;
  options.compact_every = 1;
  auto store = OpenStore(options);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store->Commit({Put(absl::StrCat("f", i), "v")}).ok());
  }
  EXPECT_EQ(store->ChangesSince(0, "", 100).status().code(), absl::StatusCode::kOutOfRange);
  auto recent = store->ChangesSince(store->CurrentRevision() - 2, "", 100);
  ASSERT_TRUE(recent.ok()) << recent.status();
  EXPECT_EQ(recent->size(), 2u);
}

TEST_F(SqliteStoreTest, WaitForChangeWakesOnCommit) {
  auto store = OpenStore();
  int64_t before = store->CurrentRevision();
  std::thread writer([&] { EXPECT_TRUE(store->Commit({Put("web", "v1")}).ok()); });
  EXPECT_TRUE(store->WaitForChange(before, absl::Seconds(30)));
  writer.join();
  EXPECT_GT(store->CurrentRevision(), before);
}

TEST_F(SqliteStoreTest, StopWaitingReleasesWaitersNowAndLater) {
  auto store = OpenStore();
  const int64_t revision = store->CurrentRevision();
  absl::Notification waiting;
  std::thread waiter([&] {
    waiting.Notify();
    // A minute: only StopWaiting can end this wait within the test's time.
    EXPECT_FALSE(store->WaitForChange(revision, absl::Minutes(1)));
  });
  waiting.WaitForNotification();
  store->StopWaiting();
  waiter.join();
  const absl::Time start = absl::Now();
  EXPECT_FALSE(store->WaitForChange(revision, absl::Minutes(1)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST_F(SqliteStoreTest, WaitForChangeTimesOutWithoutCommit) {
  auto store = OpenStore();
  EXPECT_FALSE(store->WaitForChange(store->CurrentRevision(), absl::Milliseconds(20)));
}

TEST_F(SqliteStoreTest, CommittedDataSurvivesReopen) {
  int64_t rev = 0;
  {
    auto store = OpenStore();
    rev = *store->Commit({Put("web", "v1")});
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->CurrentRevision(), rev);
  EXPECT_EQ(store->Get("IPForward", "web")->value, "v1");
  EXPECT_EQ(*store->Commit({Put("web", "v2")}), rev + 1);
}

TEST_F(SqliteStoreTest, SecondOpenOfSameDataDirIsRefused) {
  auto first = OpenStore();
  auto second = SqliteStore::Open(dir_);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr(dir_));
}

TEST_F(SqliteStoreTest, RefusesCorruptFileNamingItAndLeavesItUntouched) {
  std::filesystem::create_directories(dir_);
  const std::string path = dir_ + "/ferry.db";
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 37) % 251));
  { std::ofstream(path, std::ios::binary) << garbage; }
  auto store = SqliteStore::Open(dir_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  EXPECT_EQ(ReadFile(path), garbage);
}

TEST_F(SqliteStoreTest, RefusesNewerSchemaVersionNamingTheFile) {
  { OpenStore(); }
  const std::string path = dir_ + "/ferry.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const int64_t newer = SqliteStore::kSchemaVersion + 1;
  const std::string bump =
      absl::StrCat("UPDATE meta SET value = ", newer, " WHERE key = 'schema_version'");
  ASSERT_EQ(sqlite3_exec(db, bump.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  const std::string before = ReadFile(path);

  auto store = SqliteStore::Open(dir_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  EXPECT_THAT(store.status().message(), HasSubstr(absl::StrCat("schema_version ", newer)));
  EXPECT_EQ(ReadFile(path), before);
}

}  // namespace
}  // namespace ferry::controller
