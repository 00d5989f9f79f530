#ifndef FERRY_CONTROLLER_SECURITY_AUDIT_LOG_H_
#define FERRY_CONTROLLER_SECURITY_AUDIT_LOG_H_

// --audit-log: one JSON object per line for every write and every denied
// call, as the Kubernetes API server's audit log. Rotated by size: PATH is
// renamed PATH.1 (PATH.1 to PATH.2, ...), keeping `max_backups`. Writes are
// flushed per line, so a crash loses at most the line being written.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/security/principal.h"

namespace ferry::controller {

struct AuditEntry {
  absl::Time time;
  std::string user;
  std::string role;
  std::string source;
  std::string verb;  // apply, delete, create-token, join, ...
  std::string kind;  // IPForward, Node, JoinToken, Certificate
  std::string name;
  std::string resource_version;  // after the write; empty if none
  bool allowed = false;
  std::string outcome;  // created, configured, unchanged, deleted, denied, error
  std::string reason;   // the error or denial text; empty on success
};

// The line written for an entry (no trailing newline). Keys: time (RFC
// 3339, UTC, microseconds), user, role, source, verb, kind, name,
// resourceVersion, allowed, outcome, reason. Strings are escaped so a line
// is always one valid JSON object: control characters as \uXXXX (or \n,
// \t, ...), and bytes that are not UTF-8 as U+FFFD, since names and
// reasons of denied calls come straight from the request.
std::string AuditJson(const AuditEntry& entry);

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void Record(const AuditEntry& entry) = 0;
};

class FileAuditLog : public AuditSink {
 public:
  struct Options {
    std::string path;
    // A file is rotated before a line would take it past this; a single
    // longer line gets a file of its own.
    int64_t max_bytes = 100 << 20;
    // PATH.1 .. PATH.N; the oldest is dropped. 0 keeps no backups.
    int max_backups = 5;
  };
  // Opens the file for appending, creating it; its mode is made 0600
  // whatever the umask, since it names users and sources.
  static absl::StatusOr<std::unique_ptr<FileAuditLog>> Open(Options options);
  ~FileAuditLog() override;

  // Never fails the call being audited: a write or rotation error is
  // logged, and the next Record tries again.
  void Record(const AuditEntry& entry) override;

 private:
  explicit FileAuditLog(Options options);
  absl::Status OpenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RotateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  absl::Mutex mu_;
  std::FILE* file_ ABSL_GUARDED_BY(mu_) = nullptr;
  int64_t size_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SECURITY_AUDIT_LOG_H_
