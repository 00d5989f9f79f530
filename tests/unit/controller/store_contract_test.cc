// The Store contract (controller/store/store.h), the same tests against
// every backend: SqliteStore on a temp dir and EtcdStore on a real etcd
// (one per test process, a key prefix per test). Written against the
// contract only: revisions strictly increase but need not be consecutive
// (etcd's move with other keys), a store need not start at revision 0, and
// a put's change carries the key's value at its revision or a later one.
// What only one backend does lives in store_test.cc (SQLite) and
// etcd_store_test.cc (etcd).

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "controller/etcd/etcd_store.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/etcd_test_server.h"
#include "tests/unit/controller/write_ops.h"

namespace ferry::controller {
namespace {

using store_test::Create;
using store_test::Delete;
using store_test::Put;
using store_test::PutNode;

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// "f00042": names that sort as they count.
std::string Numbered(int i) { return absl::StrCat("f", absl::Dec(i, absl::kZeroPad5)); }

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "etcd") {
      if (!EtcdTestServer::Installed()) GTEST_SKIP() << EtcdTestServer::kNotInstalled;
      absl::StatusOr<EtcdTestServer*> server = EtcdTestServer::Shared();
      ASSERT_TRUE(server.ok()) << server.status();
      etcd_ = *server;
      absl::Status cleared = etcd_->DeletePrefix(EtcdTestServer::TestPrefix());
      ASSERT_TRUE(cleared.ok()) << cleared;
    } else {
      // "Commit/sqlite": the test's name, as one path component.
      std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
      std::replace(test.begin(), test.end(), '/', '-');
      dir_ = absl::StrCat(::testing::TempDir(), "ferry-contract-", getpid(), "-", test);
      std::filesystem::remove_all(dir_);
    }
  }

  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    if (HasFailure() && etcd_ != nullptr) std::cerr << "etcd's log ends:\n" << etcd_->LogTail();
  }

  // A fresh, empty store of the backend under test. `retained_changes`
  // bounds its change log (SQLite then compacts on every commit).
  std::unique_ptr<Store> OpenStore(int64_t retained_changes = 0) {
    if (etcd_ != nullptr) {
      EtcdStore::Options options = etcd_->StoreOptions();
      if (retained_changes > 0) options.retained_changes = retained_changes;
      absl::StatusOr<std::unique_ptr<EtcdStore>> store = EtcdStore::Open(options);
      EXPECT_TRUE(store.ok()) << store.status();
      return store.ok() ? std::move(*store) : nullptr;
    }
    SqliteStore::Options options;
    if (retained_changes > 0) {
      options.retained_changes = retained_changes;
      options.compact_every = 1;
    }
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir_, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  static std::vector<std::string> ListNames(Store& store, const std::string& kind = "IPForward") {
    std::vector<std::string> names;
    absl::StatusOr<int64_t> revision = store.List(kind, [&](const StoredObject& o) {
      names.push_back(o.name);
      return true;
    });
    EXPECT_TRUE(revision.ok()) << revision.status();
    return names;
  }

  static std::vector<Change> Changes(Store& store, int64_t after, const std::string& kind = "",
                                     size_t limit = 1000000) {
    absl::StatusOr<std::vector<Change>> changes = store.ChangesSince(after, kind, limit);
    EXPECT_TRUE(changes.ok()) << changes.status();
    return changes.ok() ? *std::move(changes) : std::vector<Change>{};
  }

  EtcdTestServer* etcd_ = nullptr;
  std::string dir_;
};

// ---- Commit: one atomic batch at one new revision ----

TEST_P(StoreContractTest, CommitStoresValueAndStampsRevision) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t base = store->CurrentRevision();
  absl::StatusOr<int64_t> rev = store->Commit({Put("web", "v1")});
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_GT(*rev, base);
  absl::StatusOr<StoredObject> got = store->Get("IPForward", "web");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->kind, "IPForward");
  EXPECT_EQ(got->name, "web");
  EXPECT_EQ(got->value, "v1");
  EXPECT_EQ(got->revision, *rev);
  EXPECT_EQ(got->create_revision, *rev);
  EXPECT_EQ(store->CurrentRevision(), *rev);
}

TEST_P(StoreContractTest, AllOpsOfOneCommitShareOneNewRevision) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t base = store->CurrentRevision();
  absl::StatusOr<int64_t> rev = store->Commit({Put("a", "1"), Put("b", "2"), PutNode("n", "3")});
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_GT(*rev, base);
  EXPECT_EQ(store->Get("IPForward", "a")->revision, *rev);
  EXPECT_EQ(store->Get("IPForward", "b")->revision, *rev);
  EXPECT_EQ(store->Get("Node", "n")->revision, *rev);
}

TEST_P(StoreContractTest, RevisionsIncreaseStrictlyWithEveryCommit) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  int64_t last = store->CurrentRevision();
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<int64_t> rev = store->Commit({Put("web", absl::StrCat("v", i))});
    ASSERT_TRUE(rev.ok()) << rev.status();
    EXPECT_GT(*rev, last);
    EXPECT_EQ(store->CurrentRevision(), *rev);
    last = *rev;
  }
}

TEST_P(StoreContractTest, UpdateKeepsCreateRevision) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t created = *store->Commit({Put("web", "v1")});
  const int64_t updated = *store->Commit({Put("web", "v2")});
  absl::StatusOr<StoredObject> got = store->Get("IPForward", "web");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->create_revision, created);
  EXPECT_EQ(got->revision, updated);
}

TEST_P(StoreContractTest, ARecreatedKeyHasANewCreateRevision) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Commit({Put("web", "v1")}).ok());
  ASSERT_TRUE(store->Commit({Delete("web")}).ok());
  const int64_t again = *store->Commit({Create("web", "v2")});
  EXPECT_EQ(store->Get("IPForward", "web")->create_revision, again);
}

TEST_P(StoreContractTest, GetMissingIsNotFound) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<StoredObject> got = store->Get("IPForward", "nope");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(got.status().message(), HasSubstr("IPForward/nope"));
}

TEST_P(StoreContractTest, EmptyCommitReturnsCurrentRevision) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->Commit({}), store->CurrentRevision());
  const int64_t rev = *store->Commit({Put("web", "v1")});
  EXPECT_EQ(*store->Commit({}), rev);
  EXPECT_EQ(store->CurrentRevision(), rev);
}

// ---- Preconditions: a failed one writes nothing and names the key ----

TEST_P(StoreContractTest, MustNotExistPreconditionFailsOnExistingKey) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Commit({Put("web", "v1")}).ok());
  absl::StatusOr<int64_t> rev = store->Commit({Create("web", "v2")});
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(rev.status().message(), HasSubstr("IPForward/web"));
  EXPECT_EQ(store->Get("IPForward", "web")->value, "v1");
}

// One existing key among creates fails the whole commit, naming it with
// its revision; the creates before it in the same commit are not written.
TEST_P(StoreContractTest, CreateOfExistingKeyAmongCreatesWritesNothing) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t first = *store->Commit({Put("web", "v1")});
  absl::StatusOr<int64_t> rev =
      store->Commit({Create("a", "x"), Create("web", "v2"), Create("z", "y")});
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(rev.status().message(),
              HasSubstr(absl::StrCat("IPForward/web already exists (revision ", first, ")")));
  EXPECT_EQ(store->CurrentRevision(), first);
  EXPECT_EQ(store->Get("IPForward", "a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Get("IPForward", "z").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Get("IPForward", "web")->value, "v1");
  EXPECT_TRUE(Changes(*store, first).empty());

  const int64_t created = *store->Commit({Create("a", "x")});
  absl::StatusOr<StoredObject> got = store->Get("IPForward", "a");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->value, "x");
  EXPECT_EQ(got->revision, created);
  EXPECT_EQ(got->create_revision, created);
  std::vector<Change> changes = Changes(*store, first);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].created);
  EXPECT_EQ(changes[0].object.value, "x");
}

TEST_P(StoreContractTest, StaleExpectedRevisionWritesNothing) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t first = *store->Commit({Put("web", "v1")});
  ASSERT_TRUE(store->Commit({Put("web", "v2")}).ok());
  const int64_t before = store->CurrentRevision();
  absl::StatusOr<int64_t> rev = store->Commit({Put("other", "x"), Put("web", "v3", first)});
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(rev.status().message(), HasSubstr("IPForward/web"));
  EXPECT_EQ(store->Get("IPForward", "other").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Get("IPForward", "web")->value, "v2");
  EXPECT_EQ(store->CurrentRevision(), before);
}

TEST_P(StoreContractTest, StaleOrMissingExpectedRevisionSaysWhich) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t first = *store->Commit({Put("web", "v1")});
  const int64_t second = *store->Commit({Put("web", "v2")});
  absl::StatusOr<int64_t> stale = store->Commit({Put("web", "v3", first)});
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(stale.status().message(),
              HasSubstr(absl::StrCat("expected revision ", first, ", current is ", second)));
  absl::StatusOr<int64_t> missing = store->Commit({Put("gone", "v1", first)});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(missing.status().message(), HasSubstr("IPForward/gone"));
  EXPECT_THAT(missing.status().message(), HasSubstr("does not exist"));
}

TEST_P(StoreContractTest, MatchingExpectedRevisionSucceeds) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t first = *store->Commit({Put("web", "v1")});
  absl::StatusOr<int64_t> second = store->Commit({Put("web", "v2", first)});
  ASSERT_TRUE(second.ok()) << second.status();
  absl::StatusOr<StoredObject> got = store->Get("IPForward", "web");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->value, "v2");
  EXPECT_EQ(got->revision, *second);
  EXPECT_EQ(got->create_revision, first);
  std::vector<Change> changes = Changes(*store, first, "IPForward");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].created);
  EXPECT_EQ(changes[0].object.value, "v2");
}

TEST_P(StoreContractTest, DeleteRemovesKeyAndMissingDeleteIsNotFound) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Commit({Put("web", "v1")}).ok());
  ASSERT_TRUE(store->Commit({Delete("web")}).ok());
  EXPECT_EQ(store->Get("IPForward", "web").status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<int64_t> again = store->Commit({Delete("web")});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(again.status().message(), HasSubstr("IPForward/web"));
}

TEST_P(StoreContractTest, MissingDeleteAmongWritesWritesNothing) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t before = *store->Commit({Put("web", "v1")});
  absl::StatusOr<int64_t> rev = store->Commit({Put("web", "v2"), Delete("gone"), Put("a", "1")});
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(rev.status().message(), HasSubstr("IPForward/gone"));
  EXPECT_EQ(store->Get("IPForward", "web")->value, "v1");
  EXPECT_EQ(store->Get("IPForward", "a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->CurrentRevision(), before);
}

TEST_P(StoreContractTest, DeleteAtExpectedRevisionChecksIt) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t first = *store->Commit({Put("web", "v1")});
  const int64_t second = *store->Commit({Put("web", "v2")});
  absl::StatusOr<int64_t> stale = store->Commit({Delete("web", first)});
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(stale.status().message(), HasSubstr(absl::StrCat("IPForward/web: expected revision ",
                                                               first, ", current is ", second)));
  EXPECT_EQ(store->Get("IPForward", "web")->value, "v2");
  ASSERT_TRUE(store->Commit({Delete("web", second)}).ok());
  EXPECT_EQ(store->Get("IPForward", "web").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreContractTest, DuplicateKeyInOneCommitIsInvalid) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t before = store->CurrentRevision();
  absl::StatusOr<int64_t> rev = store->Commit({Put("web", "1"), Put("web", "2")});
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rev.status().message(), HasSubstr("IPForward/web: key written twice"));
  EXPECT_EQ(store->Get("IPForward", "web").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->CurrentRevision(), before);
}

TEST_P(StoreContractTest, EmptyKeyOrNegativeExpectedRevisionIsInvalid) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Commit({Put("a", "1"), Put("", "x")}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Commit({Put("a", "1"), Put("web", "x", -2)}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Get("IPForward", "a").status().code(), absl::StatusCode::kNotFound);
}

// ---- List: one kind, name order, one snapshot ----

TEST_P(StoreContractTest, ListVisitsOneKindInNameOrder) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Commit({Put("b", "2"), Put("a", "1"), PutNode("node-a", "n")}).ok());
  EXPECT_THAT(ListNames(*store), ElementsAre("a", "b"));
  EXPECT_THAT(ListNames(*store, "Node"), ElementsAre("node-a"));
  EXPECT_THAT(ListNames(*store, "Other"), ElementsAre());
}

TEST_P(StoreContractTest, ListStopsWhenVisitReturnsFalse) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Commit({Put("a", "1"), Put("b", "2"), Put("c", "3")}).ok());
  int visited = 0;
  ASSERT_TRUE(store->List("IPForward", [&](const StoredObject&) { return ++visited < 2; }).ok());
  EXPECT_EQ(visited, 2);
}

TEST_P(StoreContractTest, ListSeesOneSnapshotWhileWritesContinue) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t written = *store->Commit({Put("a", "1"), Put("b", "2")});
  std::vector<std::string> seen;
  int64_t during = 0;
  absl::StatusOr<int64_t> rev = store->List("IPForward", [&](const StoredObject& o) {
    seen.push_back(o.name);
    if (o.name == "a") {
      // A commit during the visit is not part of this snapshot.
      absl::StatusOr<int64_t> r = store->Commit({Put("aa", "x"), Delete("b")});
      EXPECT_TRUE(r.ok()) << r.status();
      during = r.value_or(0);
    }
    return true;
  });
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_GE(*rev, written);
  EXPECT_LT(*rev, during);
  EXPECT_THAT(seen, ElementsAre("a", "b"));
  EXPECT_THAT(ListNames(*store), ElementsAre("a", "aa"));
}

// More objects than a backend reads at once (etcd pages by 1000): the
// later pages are of the first one's snapshot too.
TEST_P(StoreContractTest, AListOfManyPagesSeesOneSnapshotWhileWritesContinue) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  constexpr int kObjects = 2500;
  std::vector<WriteOp> ops;
  for (int i = 0; i < kObjects; ++i) ops.push_back(Create(Numbered(i), "v1"));
  const int64_t written = *store->Commit(ops);
  int visited = 0;
  absl::StatusOr<int64_t> rev = store->List("IPForward", [&](const StoredObject& o) {
    EXPECT_EQ(o.name, Numbered(visited));
    EXPECT_EQ(o.value, "v1");
    EXPECT_EQ(o.revision, written);
    if (visited == 0) {
      EXPECT_TRUE(store
                      ->Commit({Delete(Numbered(kObjects - 1)), Put(Numbered(kObjects - 2), "v2"),
                                Create("zzz", "new")})
                      .ok());
    }
    ++visited;
    return true;
  });
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_EQ(*rev, written);
  EXPECT_EQ(visited, kObjects);
}

// ---- ChangesSince: the log of every write ----

// Many keys deleted in one commit (ferryctl delete --all): each delete's
// change still carries the value it removed.
TEST_P(StoreContractTest, EachDeleteOfABulkDeleteCarriesTheValueItRemoved) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<WriteOp> puts, deletes;
  for (int i = 0; i < 40; ++i) {
    puts.push_back(Put(absl::StrCat("f", i), absl::StrCat("value-", i)));
    deletes.push_back(Delete(absl::StrCat("f", i)));
  }
  ASSERT_TRUE(store->Commit({Put("keep", "k")}).ok());
  ASSERT_TRUE(store->Commit(puts).ok());
  const int64_t before = store->CurrentRevision();
  absl::StatusOr<int64_t> deleted = store->Commit(deletes);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  std::vector<Change> changes = Changes(*store, before, "IPForward");
  ASSERT_EQ(changes.size(), 40u);
  for (const Change& change : changes) {
    EXPECT_EQ(change.type, Change::Type::kDelete);
    EXPECT_EQ(change.object.revision, *deleted);
    EXPECT_EQ(change.object.value, absl::StrCat("value-", change.object.name.substr(1)))
        << change.object.name;
  }
}

TEST_P(StoreContractTest, ChangesSinceReturnsPutsAndDeletesInOrder) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t base = store->CurrentRevision();
  const int64_t r1 = *store->Commit({Put("web", "v1")});
  const int64_t r2 = *store->Commit({Put("web", "v2")});
  const int64_t r3 = *store->Commit({Delete("web")});
  std::vector<Change> changes = Changes(*store, base, "IPForward");
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].type, Change::Type::kPut);
  EXPECT_EQ(changes[0].object.kind, "IPForward");
  EXPECT_EQ(changes[0].object.name, "web");
  EXPECT_EQ(changes[0].object.revision, r1);
  EXPECT_TRUE(changes[0].created);
  EXPECT_EQ(changes[1].type, Change::Type::kPut);
  EXPECT_EQ(changes[1].object.revision, r2);
  EXPECT_FALSE(changes[1].created);
  EXPECT_EQ(changes[1].object.value, "v2");
  EXPECT_EQ(changes[2].type, Change::Type::kDelete);
  EXPECT_EQ(changes[2].object.revision, r3);
  EXPECT_EQ(changes[2].object.value, "v2");  // the value before deletion
  EXPECT_TRUE(Changes(*store, r3).empty());
}

TEST_P(StoreContractTest, ChangesSinceSkipsOlderRevisionsAndOtherKinds) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t r1 = *store->Commit({Put("web", "v1")});
  ASSERT_TRUE(store->Commit({PutNode("node-a", "n")}).ok());
  const int64_t r3 = *store->Commit({Put("api", "v1")});
  std::vector<Change> changes = Changes(*store, r1, "IPForward");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].object.name, "api");
  EXPECT_EQ(changes[0].object.revision, r3);
  changes = Changes(*store, r1, "");
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].object.kind, "Node");
  EXPECT_EQ(changes[1].object.kind, "IPForward");
}

TEST_P(StoreContractTest, ChangesSinceLimitNeverSplitsARevision) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t base = store->CurrentRevision();
  const int64_t r1 = *store->Commit({Put("a", "1"), Put("b", "2")});
  const int64_t r2 = *store->Commit({Put("c", "3")});
  std::vector<Change> changes = Changes(*store, base, "", 1);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].object.revision, r1);
  EXPECT_EQ(changes[1].object.revision, r1);
  changes = Changes(*store, r1, "", 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].object.revision, r2);
}

TEST_P(StoreContractTest, ChangesSinceCompactedRevisionIsOutOfRange) {
  auto store = OpenStore(/*retained_changes=*/2);
  ASSERT_NE(store, nullptr);
  const int64_t base = store->CurrentRevision();
  std::vector<int64_t> revisions;
  for (int i = 0; i < 5; ++i) revisions.push_back(*store->Commit({Put(absl::StrCat("f", i), "v")}));
  absl::StatusOr<std::vector<Change>> old = store->ChangesSince(base, "", 100);
  EXPECT_EQ(old.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->ChangesSince(revisions[1], "", 100).status().code(),
            absl::StatusCode::kOutOfRange);
  std::vector<Change> recent = Changes(*store, revisions[2]);
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].object.revision, revisions[3]);
  EXPECT_EQ(recent[1].object.revision, revisions[4]);
}

// A put's change carries the key's value at its revision or a later one:
// never an older value, never the value of the key's next incarnation.
TEST_P(StoreContractTest, APutCarriesItsOwnValueOrALaterOne) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t base = store->CurrentRevision();
  const int64_t r1 = *store->Commit({Put("web", "v1")});
  const int64_t r2 = *store->Commit({Put("api", "a1")});
  const int64_t r3 = *store->Commit({Put("web", "v2")});
  std::vector<Change> changes = Changes(*store, base, "IPForward");
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].object.revision, r1);
  EXPECT_TRUE(changes[0].created);
  EXPECT_THAT(changes[0].object.value, AnyOf("v1", "v2"));
  EXPECT_EQ(changes[1].object.revision, r2);
  EXPECT_EQ(changes[1].object.value, "a1");
  EXPECT_EQ(changes[2].object.revision, r3);
  EXPECT_FALSE(changes[2].created);
  EXPECT_EQ(changes[2].object.value, "v2");
}

TEST_P(StoreContractTest, APutOfAKeyDeletedSinceCarriesAtMostTheValueTheDeleteRemoved) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t base = store->CurrentRevision();
  ASSERT_TRUE(store->Commit({Put("web", "v1")}).ok());
  ASSERT_TRUE(store->Commit({Put("web", "v2")}).ok());
  ASSERT_TRUE(store->Commit({Delete("web")}).ok());
  // Created again: the puts before the delete are not this incarnation's.
  ASSERT_TRUE(store->Commit({Put("web", "new")}).ok());
  std::vector<Change> changes = Changes(*store, base, "IPForward");
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_THAT(changes[0].object.value, AnyOf("v1", "v2"));
  EXPECT_EQ(changes[1].object.value, "v2");
  EXPECT_EQ(changes[2].type, Change::Type::kDelete);
  EXPECT_EQ(changes[2].object.value, "v2");
  EXPECT_EQ(changes[3].type, Change::Type::kPut);
  EXPECT_TRUE(changes[3].created);
  EXPECT_EQ(changes[3].object.value, "new");
}

// What the log is for: a reader that applies every change in order, from
// an empty store, ends up holding what a List holds.
TEST_P(StoreContractTest, ApplyingTheLogInOrderEndsAtTheListedState) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t base = store->CurrentRevision();
  for (int round = 0; round < 6; ++round) {
    std::vector<WriteOp> ops;
    for (int i = 0; i < 8; ++i) {
      const std::string name = Numbered(i);
      const bool exists = store->Get("IPForward", name).ok();
      if ((i + round) % 3 == 0 && exists) {
        ops.push_back(Delete(name));
      } else if ((i + round) % 3 != 0) {
        ops.push_back(Put(name, absl::StrCat("r", round, "i", i)));
      }
    }
    ops.push_back(PutNode(absl::StrCat("node-", round % 2), absl::StrCat("n", round)));
    ASSERT_TRUE(store->Commit(ops).ok());
  }
  std::map<std::string, std::string> replayed;
  for (const Change& c : Changes(*store, base)) {
    const std::string key = StoreKey(c.object.kind, c.object.name);
    if (c.type == Change::Type::kDelete) {
      replayed.erase(key);
    } else {
      replayed[key] = c.object.value;
    }
  }
  std::map<std::string, std::string> listed;
  for (const std::string kind : {"IPForward", "Node"}) {
    ASSERT_TRUE(store
                    ->List(kind,
                           [&](const StoredObject& o) {
                             listed[StoreKey(o.kind, o.name)] = o.value;
                             return true;
                           })
                    .ok());
  }
  EXPECT_EQ(replayed, listed);
}

// ---- WaitForChange / StopWaiting ----

TEST_P(StoreContractTest, WaitForChangeWakesOnCommit) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t before = store->CurrentRevision();
  std::thread writer([&] { EXPECT_TRUE(store->Commit({Put("web", "v1")}).ok()); });
  EXPECT_TRUE(store->WaitForChange(before, absl::Seconds(30)));
  writer.join();
  EXPECT_GT(store->CurrentRevision(), before);
}

TEST_P(StoreContractTest, WaitForChangeTimesOutWithoutCommit) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->WaitForChange(store->CurrentRevision(), absl::Milliseconds(20)));
}

TEST_P(StoreContractTest, StopWaitingReleasesWaitersNowAndLater) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
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

// ---- GetMany ----

TEST_P(StoreContractTest, GetManyReadsThePresentKeysOfOneSnapshot) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Commit({Put("a", "1"), Put("c", "3")}).ok());
  std::vector<std::string> names = {"a", "b", "c"};
  std::vector<std::pair<size_t, std::string>> seen;
  absl::Status status = store->GetMany(
      "IPForward", names, [&](size_t i, const StoredObject& o) { seen.emplace_back(i, o.value); });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(seen, (std::vector<std::pair<size_t, std::string>>{{0, "1"}, {2, "3"}}));
}

// Many names (etcd then reads the kind's range instead of each key): each
// present one is visited once, with its index and its revisions.
TEST_P(StoreContractTest, GetManyOfManyNamesVisitsEachPresentOneByIndex) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<WriteOp> ops;
  for (int i = 0; i < 100; i += 2) ops.push_back(Put(Numbered(i), absl::StrCat("v", i)));
  ops.push_back(PutNode(Numbered(1), "a node, not a forward"));
  const int64_t rev = *store->Commit(ops);
  std::vector<std::string> names;
  for (int i = 99; i >= 0; --i) names.push_back(Numbered(i));  // in no stored order
  std::map<size_t, std::string> seen;
  absl::Status status = store->GetMany("IPForward", names, [&](size_t i, const StoredObject& o) {
    EXPECT_EQ(o.kind, "IPForward");
    EXPECT_EQ(o.name, names[i]);
    EXPECT_EQ(o.revision, rev);
    EXPECT_EQ(o.create_revision, rev);
    EXPECT_TRUE(seen.emplace(i, o.value).second) << "visited twice: " << names[i];
  });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(seen.size(), 50u);
  for (const auto& [i, value] : seen) {
    EXPECT_EQ(value, absl::StrCat("v", 99 - static_cast<int>(i)));
  }
}

// ---- Limits: a large apply is one atomic commit ----

TEST_P(StoreContractTest, OneCommitOfTenThousandCreatesIsListedAtOneRevision) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  constexpr int kObjects = 10000;
  std::vector<WriteOp> ops;
  for (int i = 0; i < kObjects; ++i) ops.push_back(Create(Numbered(i), std::string(100, 'x')));
  absl::StatusOr<int64_t> rev = store->Commit(ops);
  ASSERT_TRUE(rev.ok()) << rev.status();
  int listed = 0;
  absl::StatusOr<int64_t> snapshot = store->List("IPForward", [&](const StoredObject& o) {
    EXPECT_EQ(o.name, Numbered(listed));
    EXPECT_EQ(o.revision, *rev);
    ++listed;
    return true;
  });
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(listed, kObjects);
  EXPECT_EQ(Changes(*store, *rev - 1).size(), static_cast<size_t>(kObjects));
}

TEST_P(StoreContractTest, OneFailedPreconditionAmongTenThousandWritesWritesNothing) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  constexpr int kObjects = 10000;
  const int64_t before = *store->Commit({Put(Numbered(kObjects / 2), "exists")});
  std::vector<WriteOp> ops;
  for (int i = 0; i < kObjects; ++i) ops.push_back(Create(Numbered(i), std::string(100, 'x')));
  absl::StatusOr<int64_t> rev = store->Commit(ops);
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(
      rev.status().message(),
      HasSubstr(absl::StrCat(StoreKey("IPForward", Numbered(kObjects / 2)), " already exists")));
  EXPECT_THAT(ListNames(*store), ElementsAre(Numbered(kObjects / 2)));
  EXPECT_EQ(store->CurrentRevision(), before);
  EXPECT_TRUE(Changes(*store, before).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::Values("sqlite", "etcd"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace ferry::controller
