#include "controller/security/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/lib/log.h"

namespace ferry::controller {
namespace {

// The length of the UTF-8 sequence starting at s[i], or 0 if it is not a
// well-formed one (overlong forms, surrogates and values past U+10FFFF
// included, as RFC 3629 says).
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

void AppendJsonString(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out->append("\\ufffd");
        ++i;
      } else {
        out->append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        // DEL is legal JSON, but escaped like the C0 controls so a line
        // shown in a terminal is what it says.
        if (c < 0x20 || c == 0x7F) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

void AppendField(absl::string_view key, absl::string_view value, std::string* out) {
  if (out->size() > 1) out->push_back(',');
  AppendJsonString(key, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

}  // namespace

std::string AuditJson(const AuditEntry& entry) {
  std::string out = "{";
  AppendField("time", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", entry.time, absl::UTCTimeZone()),
              &out);
  AppendField("user", entry.user, &out);
  AppendField("role", entry.role, &out);
  AppendField("source", entry.source, &out);
  AppendField("verb", entry.verb, &out);
  AppendField("kind", entry.kind, &out);
  AppendField("name", entry.name, &out);
  AppendField("resourceVersion", entry.resource_version, &out);
  absl::StrAppend(&out, ",\"allowed\":", entry.allowed ? "true" : "false");
  AppendField("outcome", entry.outcome, &out);
  AppendField("reason", entry.reason, &out);
  out.push_back('}');
  return out;
}

FileAuditLog::FileAuditLog(Options options) : options_(std::move(options)) {}

FileAuditLog::~FileAuditLog() {
  absl::MutexLock lock(&mu_);
  if (file_ != nullptr) std::fclose(file_);
}

absl::StatusOr<std::unique_ptr<FileAuditLog>> FileAuditLog::Open(Options options) {
  if (options.path.empty()) return absl::InvalidArgumentError("--audit-log: path is empty");
  if (options.max_bytes <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--audit-log-max-bytes: must be positive, got ", options.max_bytes));
  }
  if (options.max_backups < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--audit-log-backups: must be 0 or more, got ", options.max_backups));
  }
  std::unique_ptr<FileAuditLog> log(new FileAuditLog(std::move(options)));
  absl::MutexLock lock(&log->mu_);
  if (absl::Status s = log->OpenLocked(); !s.ok()) return s;
  return log;
}

absl::Status FileAuditLog::OpenLocked() {
  const std::string& path = options_.path;
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("--audit-log: open ", path));
  // O_CREAT's mode is filtered by the umask, and an existing file keeps
  // whatever mode it had: set it explicitly.
  struct stat st;
  if (fchmod(fd, 0600) != 0 || fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, absl::StrCat("--audit-log: chmod 0600 ", path));
  }
  std::FILE* file = fdopen(fd, "a");
  if (file == nullptr) {
    const int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, absl::StrCat("--audit-log: fdopen ", path));
  }
  file_ = file;
  size_ = st.st_size;
  return absl::OkStatus();
}

absl::Status FileAuditLog::RotateLocked() {
  const std::string& path = options_.path;
  std::fclose(file_);
  file_ = nullptr;
  if (options_.max_backups == 0) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return absl::ErrnoToStatus(errno, absl::StrCat("audit log: remove ", path));
    }
  } else {
    // PATH.N-1 -> PATH.N (replacing the oldest), ..., PATH -> PATH.1.
    for (int i = options_.max_backups - 1; i >= 0; --i) {
      const std::string from = i == 0 ? path : absl::StrCat(path, ".", i);
      const std::string to = absl::StrCat(path, ".", i + 1);
      if (rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
        return absl::ErrnoToStatus(errno, absl::StrCat("audit log: rename ", from, " to ", to));
      }
    }
  }
  return OpenLocked();
}

void FileAuditLog::Record(const AuditEntry& entry) {
  const std::string line = absl::StrCat(AuditJson(entry), "\n");
  const int64_t length = static_cast<int64_t>(line.size());
  absl::MutexLock lock(&mu_);
  if (file_ != nullptr && size_ > 0 && size_ + length > options_.max_bytes) {
    absl::Status rotated = RotateLocked();
    if (!rotated.ok()) {
      LogError("audit log rotation failed; appending to the current file",
               {{"error", std::string(rotated.message())}});
    }
  }
  // After a failed rotation (or an earlier failure) the file may be closed:
  // reopen PATH and keep appending, so no line is dropped that can be kept.
  if (file_ == nullptr) {
    if (absl::Status s = OpenLocked(); !s.ok()) {
      LogError("audit log unavailable; entry lost",
               {{"error", std::string(s.message())}, {"entry", line.substr(0, line.size() - 1)}});
      return;
    }
  }
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    const int err = errno;
    LogError("audit log write failed",
             {{"path", options_.path}, {"error", absl::ErrnoToStatus(err, "write").ToString()}});
    // Start again from a fresh handle; a short write left its size unknown.
    std::fclose(file_);
    file_ = nullptr;
    return;
  }
  size_ += length;
}

}  // namespace ferry::controller
