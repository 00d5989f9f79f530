#include "controller/security/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/json_string.h"
#include "api/lib/log.h"

namespace ferry::controller {
namespace {

void AppendField(absl::string_view key, absl::string_view value, std::string* out) {
  if (out->size() > 1) out->push_back(',');
  api::AppendJsonString(key, out, {.replace_invalid_utf8 = true});
  out->push_back(':');
  api::AppendJsonString(value, out, {.replace_invalid_utf8 = true});
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
