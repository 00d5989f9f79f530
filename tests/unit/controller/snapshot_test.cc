#include "controller/store/snapshot.h"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

WriteOp Put(const std::string& kind, const std::string& name, const std::string& value) {
  WriteOp op;
  op.kind = kind;
  op.name = name;
  op.value = value;
  return op;
}

WriteOp Delete(const std::string& kind, const std::string& name) {
  WriteOp op = Put(kind, name, "");
  op.type = WriteOp::Type::kDelete;
  return op;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

// Every stored object of the kinds a controller keeps, as
// "kind/name" -> (value, revision, create_revision).
using Dump = std::map<std::string, std::tuple<std::string, int64_t, int64_t>>;

Dump DumpStore(Store& store) {
  Dump dump;
  for (const char* kind : {"IPForward", "Node", "Event", "Certificate"}) {
    absl::StatusOr<int64_t> listed = store.List(kind, [&](const StoredObject& o) {
      dump[absl::StrCat(o.kind, "/", o.name)] = {o.value, o.revision, o.create_revision};
      return true;
    });
    EXPECT_TRUE(listed.ok()) << listed.status();
  }
  return dump;
}

// Runs one SQL statement on a file outside any store.
void ExecOn(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string message = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = absl::StrCat(::testing::TempDir(), "/ferry-snapshot-", getpid(), "-",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    source_ = root_ + "/source";
    target_ = root_ + "/target";
    file_ = root_ + "/backup.snap";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // A source store with forwards, nodes and events, one of them deleted,
  // and a managed PKI beside it.
  std::unique_ptr<SqliteStore> Populated() {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(source_);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return nullptr;
    EXPECT_TRUE((*store)->Commit({Put("Node", "node-a", "a1"), Put("Node", "node-b", "b1")}).ok());
    EXPECT_TRUE((*store)->Commit({Put("IPForward", "web", "w1")}).ok());
    EXPECT_TRUE((*store)->Commit({Put("IPForward", "web", "w2"), Put("Event", "e1", "x")}).ok());
    EXPECT_TRUE((*store)->Commit({Put("IPForward", "gone", "g")}).ok());
    EXPECT_TRUE((*store)->Commit({Delete("IPForward", "gone")}).ok());
    std::filesystem::create_directories(source_ + "/pki");
    WriteFile(source_ + "/pki/ca.crt", "CA CERT");
    WriteFile(source_ + "/pki/ca.key", "CA KEY");
    return std::move(*store);
  }

  std::string root_, source_, target_, file_;
};

TEST_F(SnapshotTest, RestoreServesEveryObjectAtItsRevisionAndContinuesAfterIt) {
  std::unique_ptr<SqliteStore> source = Populated();
  ASSERT_NE(source, nullptr);
  const Dump before = DumpStore(*source);
  const int64_t revision = source->CurrentRevision();

  // Online: the source store stays open and writes on after the save.
  absl::StatusOr<SnapshotInfo> saved = SaveSnapshot(source_, file_);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->revision, revision);
  EXPECT_THAT(saved->files, ElementsAre("pki/ca.crt", "pki/ca.key"));
  EXPECT_EQ(std::filesystem::status(file_).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  ASSERT_TRUE(source->Commit({Put("IPForward", "later", "l")}).ok());

  absl::StatusOr<SnapshotInfo> restored = RestoreSnapshot(file_, target_);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->revision, revision);
  EXPECT_EQ(ReadFile(target_ + "/pki/ca.key"), "CA KEY");
  EXPECT_EQ(ReadFile(target_ + "/pki/ca.crt"), "CA CERT");

  absl::StatusOr<std::unique_ptr<SqliteStore>> copy = SqliteStore::Open(target_);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ((*copy)->CurrentRevision(), revision);
  EXPECT_EQ(DumpStore(**copy), before);
  absl::StatusOr<int64_t> next = (*copy)->Commit({Put("IPForward", "new", "n")});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, revision + 1);
}

TEST_F(SnapshotTest, SnapshotWhileWritingHoldsOneWholeCommit) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(source_);
  ASSERT_TRUE(store.ok()) << store.status();
  // Each commit writes a new forward and a counter naming how many exist:
  // a torn copy would show a counter and a forward count that disagree.
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 1; !stop.load(); ++i) {
      absl::StatusOr<int64_t> r = (*store)->Commit(
          {Put("IPForward", absl::StrCat("f", i), "v"), Put("Node", "counter", absl::StrCat(i))});
      if (!r.ok()) break;
      written = i;
    }
  });
  // Bounded: the saves run while at least some commits land around them.
  for (int round = 0; round < 3; ++round) {
    while (written.load() < 20 * (round + 1)) std::this_thread::yield();
    ASSERT_TRUE(SaveSnapshot(source_, file_).ok());
  }
  stop = true;
  writer.join();

  absl::StatusOr<SnapshotInfo> restored = RestoreSnapshot(file_, target_);
  ASSERT_TRUE(restored.ok()) << restored.status();
  absl::StatusOr<std::unique_ptr<SqliteStore>> copy = SqliteStore::Open(target_);
  ASSERT_TRUE(copy.ok()) << copy.status();
  absl::StatusOr<StoredObject> counter = (*copy)->Get("Node", "counter");
  ASSERT_TRUE(counter.ok()) << counter.status();
  int64_t forwards = 0;
  ASSERT_TRUE(
      (*copy)->List("IPForward", [&](const StoredObject&) { return ++forwards, true; }).ok());
  EXPECT_EQ(absl::StrCat(forwards), counter->value);
  EXPECT_EQ(counter->revision, restored->revision);
  EXPECT_GE(forwards, 60);
}

TEST_F(SnapshotTest, RestoreRefusesANonEmptyDataDirAndChangesNothing) {
  std::unique_ptr<SqliteStore> source = Populated();
  ASSERT_TRUE(SaveSnapshot(source_, file_).ok());
  std::filesystem::create_directories(target_);
  WriteFile(target_ + "/notes.txt", "mine");

  absl::StatusOr<SnapshotInfo> restored = RestoreSnapshot(file_, target_);
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(restored.status().message(), HasSubstr("is not empty (it holds notes.txt)"));
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(target_)) {
    left.push_back(e.path().filename().string());
  }
  EXPECT_THAT(left, ElementsAre("notes.txt"));
  EXPECT_EQ(ReadFile(target_ + "/notes.txt"), "mine");
}

TEST_F(SnapshotTest, RestoreRefusesTheDataDirOfARunningStore) {
  std::unique_ptr<SqliteStore> source = Populated();
  ASSERT_TRUE(SaveSnapshot(source_, file_).ok());
  absl::StatusOr<SnapshotInfo> restored = RestoreSnapshot(file_, source_);
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(restored.status().message(), HasSubstr("is not empty"));
}

TEST_F(SnapshotTest, CorruptSnapshotsAreRefusedNamingTheFile) {
  std::unique_ptr<SqliteStore> source = Populated();
  ASSERT_TRUE(SaveSnapshot(source_, file_).ok());
  const std::string good = ReadFile(file_);

  std::string garbage_header = good;
  for (size_t i = 0; i < 16; ++i) garbage_header[i] = 'X';
  WriteFile(file_, garbage_header);
  absl::StatusOr<SnapshotInfo> restored = RestoreSnapshot(file_, target_);
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kDataLoss) << restored.status();
  EXPECT_THAT(restored.status().message(), HasSubstr(file_));
  EXPECT_FALSE(std::filesystem::exists(target_));

  // Every page after the first gone: the schema names tables the file
  // no longer has.
  WriteFile(file_, good.substr(0, 4096));
  restored = RestoreSnapshot(file_, target_);
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kDataLoss) << restored.status();
  EXPECT_FALSE(std::filesystem::exists(target_));

  WriteFile(file_, "not a database at all");
  EXPECT_EQ(InspectSnapshot(file_).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(SnapshotTest, ASnapshotOfANewerSchemaIsRefused) {
  std::unique_ptr<SqliteStore> source = Populated();
  ASSERT_TRUE(SaveSnapshot(source_, file_).ok());
  ExecOn(file_, "UPDATE meta SET value = 99 WHERE key = 'schema_version'");

  absl::StatusOr<SnapshotInfo> restored = RestoreSnapshot(file_, target_);
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(restored.status().message(), HasSubstr("schema_version 99"));
  EXPECT_THAT(restored.status().message(), HasSubstr("use a newer ferry-controller"));
  EXPECT_FALSE(std::filesystem::exists(target_));
}

TEST_F(SnapshotTest, APlainDatabaseIsNotASnapshot) {
  std::unique_ptr<SqliteStore> source = Populated();
  source.reset();
  absl::StatusOr<SnapshotInfo> restored = RestoreSnapshot(source_ + "/ferry.db", target_);
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(restored.status().message(), HasSubstr("not a ferry-controller snapshot"));
}

TEST_F(SnapshotTest, APathOutsidePkiIsRefused) {
  std::unique_ptr<SqliteStore> source = Populated();
  ASSERT_TRUE(SaveSnapshot(source_, file_).ok());
  ExecOn(file_,
         "UPDATE ferry_snapshot_files SET path = 'pki/../../escape' WHERE path = 'pki/ca.crt'");
  absl::StatusOr<SnapshotInfo> restored = RestoreSnapshot(file_, target_);
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(restored.status().message(), HasSubstr("outside the data dir's pki/"));
  EXPECT_FALSE(std::filesystem::exists(root_ + "/escape"));
}

TEST_F(SnapshotTest, SavingWithoutAStoreSaysSo) {
  absl::StatusOr<SnapshotInfo> saved = SaveSnapshot(source_, file_);
  EXPECT_EQ(saved.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(saved.status().message(), HasSubstr("--data-dir " + source_ + ": no store"));
  EXPECT_FALSE(std::filesystem::exists(file_));
}

TEST_F(SnapshotTest, CommandLineErrorsNameTheFlag) {
  EXPECT_EQ(SnapshotCommand({}), 2);
  EXPECT_EQ(SnapshotCommand({"save", file_}), 2);  // no --data-dir
  EXPECT_EQ(SnapshotCommand({"save", "--data-dir"}), 2);
  EXPECT_EQ(SnapshotCommand({"frobnicate", file_}), 2);
  EXPECT_EQ(SnapshotCommand({"save", "--data-dir", source_, file_}), 1);  // no store
  std::unique_ptr<SqliteStore> source = Populated();
  EXPECT_EQ(SnapshotCommand({"save", "--data-dir=" + source_, file_}), 0);
  EXPECT_EQ(SnapshotCommand({"inspect", file_}), 0);
  EXPECT_EQ(SnapshotCommand({"restore", "--data-dir", target_, file_}), 0);
  EXPECT_EQ(SnapshotCommand({"restore", "--data-dir", target_, file_}), 1);  // not empty now
}

}  // namespace
}  // namespace ferry::controller
