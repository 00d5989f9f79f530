// What only SqliteStore does: its file, its durability across reopen,
// refusing a second controller and a database it cannot trust, and its
// consecutive revisions. The Store contract it shares with EtcdStore is
// tested against both in store_contract_test.cc.

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/write_ops.h"

namespace ferry::controller {
namespace {

using store_test::Create;
using store_test::Delete;
using store_test::Put;
using store_test::PutNode;

using ::testing::HasSubstr;

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

  std::string dir_;
};

TEST_F(SqliteStoreTest, OpenCreatesDataDirAndDatabaseFile) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/ferry.db"));
  EXPECT_EQ(store->path(), dir_ + "/ferry.db");
  EXPECT_EQ(store->CurrentRevision(), 0);
}

// From 0, one per commit whatever it writes (the contract promises only
// that they increase).
TEST_F(SqliteStoreTest, RevisionsIncreaseByOnePerCommit) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  int64_t last = store->CurrentRevision();
  EXPECT_EQ(last, 0);
  for (int i = 0; i < 5; ++i) {
    std::vector<WriteOp> ops = {Put("web", absl::StrCat("v", i))};
    if (i % 2 == 1) ops.push_back(Put(absl::StrCat("more", i), "x"));
    auto rev = store->Commit(ops);
    ASSERT_TRUE(rev.ok());
    EXPECT_EQ(*rev, last + 1);
    last = *rev;
  }
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
