// The audit log's line format (controller/security/audit_log.h) and its
// file: mode, appending and rotation by size.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/security/audit_log.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

AuditEntry SampleEntry() {
  AuditEntry e;
  e.time = absl::FromUnixMicros(1700000000123456);  // 2023-11-14T22:13:20.123456Z
  e.user = "bob";
  e.role = "viewer";
  e.source = "ipv4:192.0.2.7:51000";
  e.verb = "apply";
  e.kind = "IPForward";
  e.name = "web";
  e.allowed = false;
  e.outcome = "denied";
  e.reason = "permission denied";
  return e;
}

// Parses a line as JSON; fails the test if it is not one JSON object.
google::protobuf::Struct ParseJson(const std::string& line) {
  google::protobuf::Struct parsed;
  auto status = google::protobuf::util::JsonStringToMessage(line, &parsed);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << line;
  return parsed;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(AuditJsonTest, WritesEveryKeyInOrderWithAllowedAsABool) {
  AuditEntry e = SampleEntry();
  e.resource_version = "42";
  EXPECT_EQ(AuditJson(e),
            "{\"time\":\"2023-11-14T22:13:20.123456Z\",\"user\":\"bob\",\"role\":\"viewer\","
            "\"source\":\"ipv4:192.0.2.7:51000\",\"verb\":\"apply\",\"kind\":\"IPForward\","
            "\"name\":\"web\",\"resourceVersion\":\"42\",\"allowed\":false,"
            "\"outcome\":\"denied\",\"reason\":\"permission denied\"}");
  e.allowed = true;
  EXPECT_THAT(AuditJson(e), HasSubstr("\"allowed\":true,"));
}

TEST(AuditJsonTest, TimeIsRfc3339UtcWithMicroseconds) {
  AuditEntry e = SampleEntry();
  e.time = absl::FromUnixSeconds(0);
  EXPECT_THAT(AuditJson(e), HasSubstr("\"time\":\"1970-01-01T00:00:00.000000Z\""));
}

TEST(AuditJsonTest, EscapesQuotesBackslashesAndControlCharacters) {
  AuditEntry e = SampleEntry();
  e.name = std::string("a\"b\\c\nd\te\rf\x01g\x1fh\x7fi\0j", 19);
  const std::string line = AuditJson(e);
  EXPECT_THAT(line, HasSubstr(R"("name":"a\"b\\c\nd\te\rf\u0001g\u001fh\u007fi\u0000j")"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(ParseJson(line).fields().at("name").string_value(), e.name);
}

TEST(AuditJsonTest, KeepsUtf8AndReplacesBytesThatAreNotUtf8) {
  AuditEntry e = SampleEntry();
  e.user = "J\xc3\xbcrgen \xe2\x9c\x93";     // Jürgen ✓
  e.reason = "bad \xff byte, cut \xe2\x9c";  // invalid, truncated sequence
  e.name = "\xc0\xaf \xed\xa0\x80";          // overlong '/', a surrogate
  const std::string line = AuditJson(e);
  google::protobuf::Struct parsed = ParseJson(line);
  EXPECT_EQ(parsed.fields().at("user").string_value(), e.user);
  EXPECT_THAT(line, HasSubstr(R"("reason":"bad \ufffd byte, cut \ufffd\ufffd")"));
  EXPECT_THAT(line, HasSubstr(R"("name":"\ufffd\ufffd \ufffd\ufffd\ufffd")"));
}

class FileAuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/ferry-audit-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = dir_ + "/audit.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<FileAuditLog> Open(int64_t max_bytes, int max_backups) {
    FileAuditLog::Options options;
    options.path = path_;
    options.max_bytes = max_bytes;
    options.max_backups = max_backups;
    auto log = FileAuditLog::Open(options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  static AuditEntry Numbered(int i) {
    AuditEntry e = SampleEntry();
    e.name = absl::StrCat("forward-", i);
    return e;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(FileAuditLogTest, CreatesTheFileWithMode0600UnderUmask0) {
  const mode_t old = umask(0);
  auto log = Open(1 << 20, 1);
  umask(old);
  ASSERT_NE(log, nullptr);
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600);
}

TEST_F(FileAuditLogTest, TightensAnExistingFileTo0600) {
  { std::ofstream(path_) << "old line\n"; }
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  auto log = Open(1 << 20, 1);
  ASSERT_NE(log, nullptr);
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600);
}

TEST_F(FileAuditLogTest, AppendsOneLinePerRecordAfterWhatIsThere) {
  { std::ofstream(path_) << "old line\n"; }
  auto log = Open(1 << 20, 1);
  ASSERT_NE(log, nullptr);
  log->Record(Numbered(1));
  log->Record(Numbered(2));
  // Flushed per line: readable before the log is closed.
  EXPECT_THAT(ReadLines(path_),
              ::testing::ElementsAre("old line", AuditJson(Numbered(1)), AuditJson(Numbered(2))));
}

TEST_F(FileAuditLogTest, RotationKeepsMaxBackupsAndTheNewestLinesIntactAndInOrder) {
  const int64_t line_bytes = static_cast<int64_t>(AuditJson(Numbered(10)).size()) + 1;
  const int64_t max_bytes = 3 * line_bytes + 5;  // three lines per file
  auto log = Open(max_bytes, 2);
  ASSERT_NE(log, nullptr);
  for (int i = 10; i < 30; ++i) log->Record(Numbered(i));

  EXPECT_TRUE(std::filesystem::exists(path_ + ".1"));
  EXPECT_TRUE(std::filesystem::exists(path_ + ".2"));
  EXPECT_FALSE(std::filesystem::exists(path_ + ".3"));
  std::vector<std::string> all;
  for (const std::string& file : {path_ + ".2", path_ + ".1", path_}) {
    EXPECT_LE(static_cast<int64_t>(std::filesystem::file_size(file)), max_bytes) << file;
    for (const std::string& line : ReadLines(file)) all.push_back(line);
  }
  // 20 lines, 3 per file: the last file holds 2, so 8 survive: 22..29.
  ASSERT_EQ(all.size(), 8u);
  for (size_t k = 0; k < all.size(); ++k) {
    EXPECT_EQ(all[k], AuditJson(Numbered(22 + static_cast<int>(k))));
  }
}

TEST_F(FileAuditLogTest, WithEnoughBackupsEveryLineLandsSomewhere) {
  auto log = Open(400, 100);
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 40; ++i) log->Record(Numbered(i));
  std::vector<std::string> all;
  for (int n = 100; n >= 0; --n) {
    const std::string file = n == 0 ? path_ : absl::StrCat(path_, ".", n);
    if (!std::filesystem::exists(file)) continue;
    for (const std::string& line : ReadLines(file)) all.push_back(line);
  }
  ASSERT_EQ(all.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(all[i], AuditJson(Numbered(i)));
}

TEST_F(FileAuditLogTest, ALineLongerThanMaxBytesGetsAFileOfItsOwn) {
  auto log = Open(100, 3);
  ASSERT_NE(log, nullptr);
  log->Record(Numbered(1));
  log->Record(Numbered(2));
  EXPECT_THAT(ReadLines(path_ + ".1"), ::testing::ElementsAre(AuditJson(Numbered(1))));
  EXPECT_THAT(ReadLines(path_), ::testing::ElementsAre(AuditJson(Numbered(2))));
}

TEST_F(FileAuditLogTest, ZeroBackupsStartsAFreshFile) {
  const int64_t line_bytes = static_cast<int64_t>(AuditJson(Numbered(1)).size()) + 1;
  auto log = Open(line_bytes, 0);
  ASSERT_NE(log, nullptr);
  log->Record(Numbered(1));
  log->Record(Numbered(2));
  EXPECT_FALSE(std::filesystem::exists(path_ + ".1"));
  EXPECT_THAT(ReadLines(path_), ::testing::ElementsAre(AuditJson(Numbered(2))));
}

TEST_F(FileAuditLogTest, OpenRefusesAnUnwritablePathAndBadLimits) {
  FileAuditLog::Options options;
  options.path = dir_ + "/missing/audit.log";
  auto missing = FileAuditLog::Open(options);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("--audit-log: open " + options.path));
  options.path = path_;
  options.max_bytes = 0;
  EXPECT_THAT(std::string(FileAuditLog::Open(options).status().message()),
              HasSubstr("--audit-log-max-bytes: must be positive"));
}

}  // namespace
}  // namespace ferry::controller
