// SqliteStore's change log keeps each value once (schema 2): a put's
// change holds no value and reads the key's value from the objects, a
// delete's change keeps what it removed. What a reader gets from SQLite
// (the newest value, which the contract allows; the contract itself is
// tested against every backend in store_contract_test.cc), and the
// migration of a schema-1 database (whose changes all held their values)
// on open.

#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

WriteOp Put(const std::string& name, const std::string& value) {
  WriteOp op;
  op.kind = "IPForward";
  op.name = name;
  op.value = value;
  return op;
}

WriteOp Delete(const std::string& name) {
  WriteOp op = Put(name, "");
  op.type = WriteOp::Type::kDelete;
  return op;
}

int64_t QueryInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
  int64_t value = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

class StoreChangeLogTest : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(StoreChangeLogTest, APutWrittenOverSinceCarriesTheNewerValueAtItsOwnRevision) {
  auto store = OpenTestStore("ferry-log", &dir_);
  int64_t r1 = *store->Commit({Put("web", "v1")});
  int64_t r2 = *store->Commit({Put("api", "a1")});
  int64_t r3 = *store->Commit({Put("web", "v2")});
  auto changes = store->ChangesSince(0, "IPForward", 100);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 3u);
  EXPECT_EQ((*changes)[0].object.revision, r1);
  EXPECT_TRUE((*changes)[0].created);
  EXPECT_EQ((*changes)[0].object.value, "v2");  // ahead of r1, never behind
  EXPECT_EQ((*changes)[1].object.revision, r2);
  EXPECT_EQ((*changes)[1].object.value, "a1");
  EXPECT_EQ((*changes)[2].object.revision, r3);
  EXPECT_FALSE((*changes)[2].created);
  EXPECT_EQ((*changes)[2].object.value, "v2");
}

TEST_F(StoreChangeLogTest, APutOfAKeyDeletedSinceCarriesTheValueTheDeleteRemoved) {
  auto store = OpenTestStore("ferry-log", &dir_);
  ASSERT_TRUE(store->Commit({Put("web", "v1")}).ok());
  ASSERT_TRUE(store->Commit({Put("web", "v2")}).ok());
  ASSERT_TRUE(store->Commit({Delete("web")}).ok());
  // Created again: the puts before the delete are not this incarnation's.
  ASSERT_TRUE(store->Commit({Put("web", "new")}).ok());
  auto changes = store->ChangesSince(0, "IPForward", 100);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 4u);
  EXPECT_EQ((*changes)[0].object.value, "v2");
  EXPECT_EQ((*changes)[1].object.value, "v2");
  EXPECT_EQ((*changes)[2].type, Change::Type::kDelete);
  EXPECT_EQ((*changes)[2].object.value, "v2");
  EXPECT_EQ((*changes)[3].type, Change::Type::kPut);
  EXPECT_TRUE((*changes)[3].created);
  EXPECT_EQ((*changes)[3].object.value, "new");
}

TEST_F(StoreChangeLogTest, OnlyADeletesChangeHoldsAValue) {
  auto store = OpenTestStore("ferry-log", &dir_);
  std::vector<WriteOp> ops;
  for (int i = 0; i < 50; ++i) ops.push_back(Put(absl::StrCat("f", i), std::string(300, 'x')));
  ASSERT_TRUE(store->Commit(ops).ok());
  ASSERT_TRUE(store->Commit(ops).ok());  // 50 rewrites, as a status pass
  ASSERT_TRUE(store->Commit({Delete("f7")}).ok());
  const std::string path = store->path();
  EXPECT_EQ(QueryInt(path, "SELECT count(*) FROM changes"), 101);
  EXPECT_EQ(QueryInt(path, "SELECT count(*) FROM changes WHERE value IS NOT NULL"), 1);
}

TEST_F(StoreChangeLogTest, ASchemaOneDatabaseIsMigratedOnOpenKeepingItsLog) {
  dir_ = absl::StrCat(::testing::TempDir(), "/ferry-log-v1-", getpid());
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  const std::string path = dir_ + "/ferry.db";
  {
    // Schema 1 as it was written: every change row with its value.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* v1 = R"sql(
      PRAGMA journal_mode=WAL;
      CREATE TABLE objects(
        kind TEXT NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL,
        revision INTEGER NOT NULL, create_revision INTEGER NOT NULL,
        PRIMARY KEY(kind, name));
      CREATE TABLE changes(
        revision INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
        type TEXT NOT NULL, value BLOB NOT NULL, created INTEGER NOT NULL,
        PRIMARY KEY(revision, kind, name));
      CREATE TABLE meta(key TEXT PRIMARY KEY, value);
      INSERT INTO meta(key, value) VALUES
        ('schema_version', 1), ('revision', 3), ('compacted_revision', 0);
      INSERT INTO objects VALUES ('IPForward', 'web', 'w2', 2, 1);
      INSERT INTO changes VALUES
        (1, 'IPForward', 'web', 'put', 'w1', 1),
        (1, 'IPForward', 'old', 'put', 'o1', 1),
        (2, 'IPForward', 'web', 'put', 'w2', 0),
        (3, 'IPForward', 'old', 'delete', 'o1', 0);
    )sql";
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  {
    auto store = SqliteStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ((*store)->CurrentRevision(), 3);
    EXPECT_EQ((*store)->Get("IPForward", "web")->value, "w2");
    auto changes = (*store)->ChangesSince(0, "IPForward", 100);
    ASSERT_TRUE(changes.ok()) << changes.status();
    ASSERT_EQ(changes->size(), 4u);
    EXPECT_EQ((*changes)[0].object.name, "old");
    EXPECT_EQ((*changes)[0].object.value, "o1");
    EXPECT_EQ((*changes)[1].object.name, "web");
    EXPECT_TRUE((*changes)[1].created);
    EXPECT_EQ((*changes)[1].object.value, "w2");
    EXPECT_EQ((*changes)[3].type, Change::Type::kDelete);
    EXPECT_EQ((*changes)[3].object.value, "o1");
    EXPECT_EQ(*(*store)->Commit({Put("web", "w3")}), 4);
  }
  EXPECT_EQ(QueryInt(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
            SqliteStore::kSchemaVersion);
  EXPECT_EQ(QueryInt(path, "SELECT count(*) FROM changes WHERE value IS NOT NULL"), 1);
  auto reopened = SqliteStore::Open(dir_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->Get("IPForward", "web")->value, "w3");
}

}  // namespace
}  // namespace ferry::controller
