#ifndef FERRY_CONTROLLER_STORE_SQLITE_STORE_H_
#define FERRY_CONTROLLER_STORE_SQLITE_STORE_H_

// Store on one SQLite file, <data_dir>/ferry.db, in WAL mode with
// synchronous=FULL: a Commit that returned survives kill -9 and power loss.
// Writes go through one connection, serialized; reads (Get, List,
// ChangesSince) use pooled read connections, so a slow List consumer holds
// only its own snapshot and never blocks writers.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "controller/store/sqlite_schema.h"
#include "controller/store/store.h"

namespace ferry::controller {

class SqliteStore : public Store {
 public:
  static constexpr int64_t kSchemaVersion = kSqliteSchemaVersion;

  struct Options {
    // Change-log rows kept for watchers; older whole revisions are dropped.
    int64_t retained_changes = 100000;
    // Compaction runs inside every Nth commit's transaction.
    int64_t compact_every = 1000;
  };

  // Creates `data_dir` if missing. The data dir is 0700 and ferry.db with
  // its -wal and -shm files 0600, whatever the umask; wider modes found on
  // an existing dir or database are tightened, with a warning. Refuses,
  // naming the file and leaving its contents untouched, a file that is not
  // a healthy SQLite database, a SQLite file that is not Ferry's, or one
  // written by a newer schema. Refuses a data dir already open in another
  // SqliteStore (a second controller).
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& data_dir);
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& data_dir,
                                                           const Options& options);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Keys must be non-empty and unique within one Commit. Deleting an absent
  // key is NOT_FOUND.
  absl::StatusOr<int64_t> Commit(const std::vector<WriteOp>& ops) override;
  absl::StatusOr<StoredObject> Get(const std::string& kind, const std::string& name) override;
  absl::Status GetMany(const std::string& kind, const std::vector<std::string>& names,
                       const std::function<void(size_t, const StoredObject&)>& visit) override;
  absl::StatusOr<int64_t> List(const std::string& kind,
                               const std::function<bool(const StoredObject&)>& visit) override;
  int64_t CurrentRevision() override;
  // Never splits one revision's changes, so it may return more than
  // `limit` to finish the last revision.
  absl::StatusOr<std::vector<Change>> ChangesSince(int64_t after, const std::string& kind,
                                                   size_t limit) override;
  bool WaitForChange(int64_t after, absl::Duration timeout) override;
  void StopWaiting() override;

  const std::string& path() const { return path_; }

 private:
  using Connection = SqliteConnection;

  SqliteStore(std::string path, Options options, int lock_fd);

  absl::Status Initialize();
  absl::StatusOr<std::unique_ptr<Connection>> OpenConnection(bool writer);
  absl::StatusOr<std::unique_ptr<Connection>> AcquireReader();
  void ReleaseReader(std::unique_ptr<Connection> conn);
  // Runs `read` on a pooled reader inside one read transaction, so every
  // statement it runs sees one snapshot.
  absl::Status InSnapshot(const std::function<absl::Status(Connection&)>& read);
  absl::Status WriteOps(const std::vector<WriteOp>& ops, int64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // A put with WriteOp::kMustNotExist: ABORTED if the key exists.
  absl::Status InsertNew(const WriteOp& op, int64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // A put at an expected revision: ABORTED if the key is gone or changed.
  absl::Status UpdateCurrent(const WriteOp& op, int64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Runs `statement` (insert_new_object or update_current_object) for the
  // op's key, value and `revision`, and the expected revision when the
  // statement takes one; whether it wrote a row.
  absl::StatusOr<bool> WriteObjectRow(SqliteStatement& statement, const WriteOp& op,
                                      int64_t revision, bool with_expected)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // The op's key's stored revision, read by the writer; none if absent.
  absl::StatusOr<std::optional<int64_t>> StoredRevision(const WriteOp& op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // The change row of a put that InsertNew or UpdateCurrent made.
  absl::Status InsertPutChange(const WriteOp& op, int64_t revision, bool created)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status Compact() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  const std::string path_;
  const Options options_;
  const int lock_fd_;

  absl::Mutex write_mu_;
  std::unique_ptr<Connection> writer_ ABSL_GUARDED_BY(write_mu_);
  int64_t written_revision_ ABSL_GUARDED_BY(write_mu_) = 0;

  absl::Mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> idle_readers_ ABSL_GUARDED_BY(pool_mu_);

  // Published after each commit, for waiters.
  absl::Mutex revision_mu_;
  int64_t revision_ ABSL_GUARDED_BY(revision_mu_) = 0;
  bool stop_waiting_ ABSL_GUARDED_BY(revision_mu_) = false;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_STORE_SQLITE_STORE_H_
