// The data dir, the database and private files are readable by the
// controller's user only, whatever the umask it was started with.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/lib/private_files.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Sets the process umask for one test and restores it.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st = {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteWideFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
}

WriteOp Put(const std::string& name) {
  WriteOp op;
  op.kind = "IPForward";
  op.name = name;
  op.value = "v";
  return op;
}

class PrivateFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/ferry-private-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
};

TEST_F(PrivateFilesTest, EnsurePrivateDirCreates0700EvenUnderUmaskZero) {
  ScopedUmask umask(0);
  const std::string pki = dir_ + "/nested/pki";

  ASSERT_TRUE(EnsurePrivateDir(pki).ok());

  EXPECT_EQ(ModeOf(pki), 0700u);
}

TEST_F(PrivateFilesTest, EnsurePrivateDirTightensAWideDirectoryAndWarns) {
  ScopedUmask umask(0);
  std::filesystem::create_directories(dir_);
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);

  ::testing::internal::CaptureStderr();
  absl::Status status = EnsurePrivateDir(dir_);
  std::string log = ::testing::internal::GetCapturedStderr();

  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(ModeOf(dir_), 0700u);
  EXPECT_THAT(log, HasSubstr("tightened permissions"));
  EXPECT_THAT(log, HasSubstr(dir_));
  EXPECT_THAT(log, HasSubstr("was=0755"));
}

TEST_F(PrivateFilesTest, EnsurePrivateDirLeavesAPrivateDirectoryQuiet) {
  std::filesystem::create_directories(dir_);
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);

  ::testing::internal::CaptureStderr();
  absl::Status status = EnsurePrivateDir(dir_ + "/");
  std::string log = ::testing::internal::GetCapturedStderr();

  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(log, IsEmpty());
}

TEST_F(PrivateFilesTest, EnsurePrivateDirRefusesAFileNamingIt) {
  std::filesystem::create_directories(dir_);
  const std::string file = dir_ + "/not-a-dir";
  std::ofstream(file) << "x";

  absl::Status status = EnsurePrivateDir(file);

  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr(file));
}

TEST_F(PrivateFilesTest, WritePrivateFileWrites0600EvenUnderUmaskZero) {
  ScopedUmask umask(0);
  std::filesystem::create_directories(dir_);
  const std::string key = dir_ + "/ca.key";

  ASSERT_TRUE(WritePrivateFile(key, "-----BEGIN PRIVATE KEY-----\n").ok());

  EXPECT_EQ(ModeOf(key), 0600u);
  EXPECT_EQ(ReadFile(key), "-----BEGIN PRIVATE KEY-----\n");
}

TEST_F(PrivateFilesTest, WritePrivateFileReplacesAWideFileAndLeavesNoTemporaries) {
  ScopedUmask umask(0);
  std::filesystem::create_directories(dir_);
  const std::string key = dir_ + "/server.key";
  WriteWideFile(key, "old");

  ASSERT_TRUE(WritePrivateFile(key, "new").ok());

  EXPECT_EQ(ModeOf(key), 0600u);
  EXPECT_EQ(ReadFile(key), "new");
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(PrivateFilesTest, WritePrivateFileIntoAMissingDirectoryNamesThePath) {
  const std::string key = dir_ + "/missing/ca.key";

  absl::Status status = WritePrivateFile(key, "x");

  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(key));
}

TEST_F(PrivateFilesTest, EnsurePrivateFileCreatesAnEmpty0600File) {
  ScopedUmask umask(0);
  std::filesystem::create_directories(dir_);
  const std::string path = dir_ + "/f";

  ASSERT_TRUE(EnsurePrivateFile(path).ok());

  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(std::filesystem::file_size(path), 0u);
}

TEST_F(PrivateFilesTest, TightenIfPresentIgnoresAMissingFileAndTightensAWideOne) {
  std::filesystem::create_directories(dir_);
  const std::string path = dir_ + "/f";
  ASSERT_TRUE(TightenIfPresent(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path));

  WriteWideFile(path, "keep");
  ASSERT_TRUE(TightenIfPresent(path).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(ReadFile(path), "keep");
}

TEST_F(PrivateFilesTest, StoreUnderUmaskZeroKeepsDataDirAndDatabaseFilesPrivate) {
  ScopedUmask umask(0);
  auto store = SqliteStore::Open(dir_);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Commit({Put("web")}).ok());

  EXPECT_EQ(ModeOf(dir_), 0700u);
  // WAL mode: the commit wrote -wal and mapped -shm; both stay open.
  for (const char* file : {"/ferry.db", "/ferry.db-wal", "/ferry.db-shm"}) {
    ASSERT_TRUE(std::filesystem::exists(dir_ + file)) << file;
    EXPECT_EQ(ModeOf(dir_ + file), 0600u) << file;
  }
}

TEST_F(PrivateFilesTest, StoreTightensAWideDataDirAndDatabaseFromAnEarlierRun) {
  {
    ScopedUmask umask(022);
    auto store = SqliteStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Commit({Put("web")}).ok());
  }
  // What an older controller left behind under umask 022.
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(::chmod((dir_ + "/ferry.db").c_str(), 0644), 0);

  auto store = SqliteStore::Open(dir_);
  ASSERT_TRUE(store.ok()) << store.status();

  EXPECT_EQ(ModeOf(dir_), 0700u);
  EXPECT_EQ(ModeOf(dir_ + "/ferry.db"), 0600u);
  EXPECT_TRUE((*store)->Get("IPForward", "web").ok());
}

}  // namespace
}  // namespace ferry::controller
