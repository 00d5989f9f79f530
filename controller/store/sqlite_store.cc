#include "controller/store/sqlite_store.h"

#include <unistd.h>

#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "api/lib/private_files.h"
#include "controller/store/sqlite_handle.h"

namespace ferry::controller {
namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr size_t kMaxIdleReaders = 8;

// A read transaction, so several SELECTs see one snapshot. For a read-only
// transaction COMMIT and ROLLBACK are the same; COMMIT is tried first.
class ReadTxn {
 public:
  explicit ReadTxn(SqliteDb* db) : db_(db) { status_ = db_->Exec("BEGIN"); }
  ~ReadTxn() {
    if (status_.ok()) db_->Exec("COMMIT").IgnoreError();
  }
  const absl::Status& status() const { return status_; }

 private:
  SqliteDb* db_;
  absl::Status status_;
};

// Reads kind/name into `out`; false if it is not stored.
absl::StatusOr<bool> ReadObject(SqliteConnection& conn, const std::string& kind,
                                const std::string& name, StoredObject* out) {
  SqliteStatement& get = conn.get_object;
  ScopedReset reset(&get);
  get.BindText(1, kind);
  get.BindText(2, name);
  absl::StatusOr<bool> row = get.Step();
  if (!row.ok() || !*row) return row;
  out->kind = kind;
  out->name = name;
  out->value = get.ColumnBlob(0);
  out->revision = get.ColumnInt64(1);
  out->create_revision = get.ColumnInt64(2);
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& data_dir) {
  return Open(data_dir, Options());
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& data_dir,
                                                               const Options& options) {
  if (data_dir.empty()) {
    return absl::InvalidArgumentError("data dir: must not be empty");
  }
  if (absl::Status s = EnsurePrivateDir(data_dir); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("data dir: ", s.message()));
  }
  absl::StatusOr<int> lock_fd = LockDataDir(data_dir);
  if (!lock_fd.ok()) return lock_fd.status();
  std::unique_ptr<SqliteStore> store(new SqliteStore(data_dir + "/ferry.db", options, *lock_fd));
  // SQLite creates the -wal and -shm files with the database's mode, so a
  // 0600 database before the first write keeps all three private; files
  // left wider by an older version are tightened.
  for (const char* suffix : {"-wal", "-shm"}) {
    if (absl::Status s = TightenIfPresent(store->path() + suffix); !s.ok()) return s;
  }
  if (absl::Status s = EnsurePrivateFile(store->path()); !s.ok()) return s;
  absl::Status status = store->Initialize();
  if (!status.ok()) return status;
  return store;
}

SqliteStore::SqliteStore(std::string path, Options options, int lock_fd)
    : path_(std::move(path)), options_(options), lock_fd_(lock_fd) {}

SqliteStore::~SqliteStore() {
  {
    absl::MutexLock lock(&pool_mu_);
    idle_readers_.clear();
  }
  {
    absl::MutexLock lock(&write_mu_);
    writer_.reset();
  }
  ::close(lock_fd_);
}

absl::Status SqliteStore::Initialize() {
  absl::StatusOr<SqliteDb> db = OpenDatabaseFile(path_, kBusyTimeoutMs);
  if (!db.ok()) return db.status();

  auto writer = std::make_unique<Connection>();
  writer->db = std::move(*db);
  absl::Status prepared = writer->Prepare();
  if (!prepared.ok()) return prepared;
  absl::StatusOr<int64_t> revision = writer->MetaInt("revision");
  if (!revision.ok()) return revision.status();

  absl::MutexLock write_lock(&write_mu_);
  writer_ = std::move(writer);
  written_revision_ = *revision;
  absl::MutexLock revision_lock(&revision_mu_);
  revision_ = *revision;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SqliteStore::Connection>> SqliteStore::AcquireReader() {
  {
    absl::MutexLock lock(&pool_mu_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return conn;
    }
  }
  absl::StatusOr<SqliteDb> db = SqliteDb::Open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  if (!db.ok()) return db.status();
  sqlite3_busy_timeout(db->get(), kBusyTimeoutMs);
  absl::Status query_only = db->Exec("PRAGMA query_only=ON");
  if (!query_only.ok()) return query_only;
  auto conn = std::make_unique<Connection>();
  conn->db = std::move(*db);
  absl::Status prepared = conn->Prepare();
  if (!prepared.ok()) return prepared;
  return conn;
}

void SqliteStore::ReleaseReader(std::unique_ptr<Connection> conn) {
  absl::MutexLock lock(&pool_mu_);
  if (idle_readers_.size() < kMaxIdleReaders) {
    idle_readers_.push_back(std::move(conn));
  }
}

absl::StatusOr<int64_t> SqliteStore::Commit(const std::vector<WriteOp>& ops) {
  if (absl::Status valid = ValidateWriteOps(ops); !valid.ok()) return valid;
  absl::MutexLock lock(&write_mu_);
  if (ops.empty()) return written_revision_;
  const int64_t revision = written_revision_ + 1;
  absl::Status status = writer_->db.Exec("BEGIN IMMEDIATE");
  if (!status.ok()) return status;
  status = WriteOps(ops, revision);
  if (status.ok()) status = writer_->db.Exec("COMMIT");
  if (!status.ok()) {
    // After some I/O errors sqlite has rolled back already.
    writer_->db.Exec("ROLLBACK").IgnoreError();
    return status;
  }
  written_revision_ = revision;
  absl::MutexLock revision_lock(&revision_mu_);
  revision_ = revision;
  return revision;
}

absl::Status SqliteStore::WriteOps(const std::vector<WriteOp>& ops, int64_t revision) {
  Connection& w = *writer_;
  for (const WriteOp& op : ops) {
    const bool put = op.type == WriteOp::Type::kPut;
    if (put && op.expected_revision == WriteOp::kMustNotExist) {
      // A create needs no lookup first: the insert itself finds an existing
      // key (through the primary key) and then writes nothing, so a large
      // apply of new objects saves one index search per object.
      if (absl::Status s = InsertNew(op, revision); !s.ok()) return s;
      continue;
    }
    if (put && op.expected_revision > 0) {
      // The same for an update at an expected revision (every status
      // write): the update itself checks the revision.
      if (absl::Status s = UpdateCurrent(op, revision); !s.ok()) return s;
      continue;
    }
    bool exists = false;
    int64_t current = 0;
    int64_t create_revision = revision;
    std::string old_value;  // a delete's change keeps it
    {
      // A put needs only the revisions, so its old value is never copied.
      SqliteStatement& lookup = put ? w.get_revisions : w.get_object;
      const int first = put ? 0 : 1;  // get_object starts with the value
      ScopedReset reset(&lookup);
      lookup.BindText(1, op.kind);
      lookup.BindText(2, op.name);
      absl::StatusOr<bool> row = lookup.Step();
      if (!row.ok()) return row.status();
      if (*row) {
        exists = true;
        if (!put) old_value = lookup.ColumnBlob(0);
        current = lookup.ColumnInt64(first);
        create_revision = lookup.ColumnInt64(first + 1);
      }
    }
    if (op.expected_revision == WriteOp::kMustNotExist && exists) {
      return absl::AbortedError(
          absl::StrCat(StoreKey(op.kind, op.name), " already exists (revision ", current, ")"));
    }
    if (op.expected_revision > 0 && !exists) {
      return absl::AbortedError(absl::StrCat(StoreKey(op.kind, op.name), ": expected revision ",
                                             op.expected_revision, " but it does not exist"));
    }
    if (op.expected_revision > 0 && current != op.expected_revision) {
      return absl::AbortedError(absl::StrCat(StoreKey(op.kind, op.name), ": expected revision ",
                                             op.expected_revision, ", current is ", current));
    }
    if (put) {
      ScopedReset reset(&w.upsert_object);
      w.upsert_object.BindText(1, op.kind);
      w.upsert_object.BindText(2, op.name);
      w.upsert_object.BindBlob(3, op.value);
      w.upsert_object.BindInt64(4, revision);
      w.upsert_object.BindInt64(5, create_revision);
      absl::Status status = w.upsert_object.Run();
      if (!status.ok()) return status;
    } else {
      if (!exists)
        return absl::NotFoundError(absl::StrCat(StoreKey(op.kind, op.name), " not found"));
      ScopedReset reset(&w.delete_object);
      w.delete_object.BindText(1, op.kind);
      w.delete_object.BindText(2, op.name);
      absl::Status status = w.delete_object.Run();
      if (!status.ok()) return status;
    }
    ScopedReset reset(&w.insert_change);
    w.insert_change.BindInt64(1, revision);
    w.insert_change.BindText(2, op.kind);
    w.insert_change.BindText(3, op.name);
    w.insert_change.BindInt64(4, put ? 0 : 1);
    w.insert_change.BindInt64(5, put && !exists ? 1 : 0);
    if (!put) w.insert_change.BindBlob(6, old_value);  // a put's stays NULL
    absl::Status status = w.insert_change.Run();
    if (!status.ok()) return status;
  }
  absl::Status status = w.SetMeta("revision", revision);
  if (!status.ok()) return status;
  if (options_.compact_every > 0 && revision % options_.compact_every == 0) {
    return Compact();
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::InsertNew(const WriteOp& op, int64_t revision) {
  absl::StatusOr<bool> wrote =
      WriteObjectRow(writer_->insert_new_object, op, revision, /*with_expected=*/false);
  if (!wrote.ok()) return wrote.status();
  if (!*wrote) {
    // Rare (the writer believed the key absent): read its revision only
    // to word the error as a lookup first would have.
    absl::StatusOr<std::optional<int64_t>> current = StoredRevision(op);
    if (!current.ok()) return current.status();
    return absl::AbortedError(absl::StrCat(StoreKey(op.kind, op.name), " already exists (revision ",
                                           current->value_or(0), ")"));
  }
  return InsertPutChange(op, revision, /*created=*/true);
}

absl::Status SqliteStore::UpdateCurrent(const WriteOp& op, int64_t revision) {
  absl::StatusOr<bool> wrote =
      WriteObjectRow(writer_->update_current_object, op, revision, /*with_expected=*/true);
  if (!wrote.ok()) return wrote.status();
  if (!*wrote) {
    // Gone or changed since it was read: read why, to say it.
    absl::StatusOr<std::optional<int64_t>> current = StoredRevision(op);
    if (!current.ok()) return current.status();
    if (!current->has_value()) {
      return absl::AbortedError(absl::StrCat(StoreKey(op.kind, op.name), ": expected revision ",
                                             op.expected_revision, " but it does not exist"));
    }
    return absl::AbortedError(absl::StrCat(StoreKey(op.kind, op.name), ": expected revision ",
                                           op.expected_revision, ", current is ", **current));
  }
  return InsertPutChange(op, revision, /*created=*/false);
}

absl::StatusOr<bool> SqliteStore::WriteObjectRow(SqliteStatement& statement, const WriteOp& op,
                                                 int64_t revision, bool with_expected) {
  {
    ScopedReset reset(&statement);
    statement.BindText(1, op.kind);
    statement.BindText(2, op.name);
    statement.BindBlob(3, op.value);
    statement.BindInt64(4, revision);
    if (with_expected) statement.BindInt64(5, op.expected_revision);
    if (absl::Status s = statement.Run(); !s.ok()) return s;
  }
  return sqlite3_changes(writer_->db.get()) > 0;
}

absl::StatusOr<std::optional<int64_t>> SqliteStore::StoredRevision(const WriteOp& op) {
  Connection& w = *writer_;
  ScopedReset reset(&w.get_revisions);
  w.get_revisions.BindText(1, op.kind);
  w.get_revisions.BindText(2, op.name);
  absl::StatusOr<bool> row = w.get_revisions.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  return w.get_revisions.ColumnInt64(0);
}

absl::Status SqliteStore::InsertPutChange(const WriteOp& op, int64_t revision, bool created) {
  Connection& w = *writer_;
  ScopedReset reset(&w.insert_change);
  w.insert_change.BindInt64(1, revision);
  w.insert_change.BindText(2, op.kind);
  w.insert_change.BindText(3, op.name);
  w.insert_change.BindInt64(4, 0);
  w.insert_change.BindInt64(5, created ? 1 : 0);  // the value stays NULL, as for any put
  return w.insert_change.Run();
}

absl::Status SqliteStore::Compact() {
  Connection& w = *writer_;
  int64_t cutoff = 0;
  {
    ScopedReset reset(&w.compaction_cutoff);
    w.compaction_cutoff.BindInt64(1, options_.retained_changes);
    absl::StatusOr<bool> row = w.compaction_cutoff.Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();  // fewer rows than retained
    cutoff = w.compaction_cutoff.ColumnInt64(0);
  }
  // Whole revisions go, so a watcher never sees half a commit.
  ScopedReset reset(&w.delete_changes);
  w.delete_changes.BindInt64(1, cutoff);
  absl::Status status = w.delete_changes.Run();
  if (!status.ok()) return status;
  return w.SetMeta("compacted_revision", cutoff);
}

absl::Status SqliteStore::InSnapshot(const std::function<absl::Status(Connection&)>& read) {
  absl::StatusOr<std::unique_ptr<Connection>> conn = AcquireReader();
  if (!conn.ok()) return conn.status();
  absl::Cleanup release = [&] { ReleaseReader(std::move(*conn)); };
  ReadTxn txn(&(*conn)->db);
  if (!txn.status().ok()) return txn.status();
  return read(**conn);
}

absl::StatusOr<StoredObject> SqliteStore::Get(const std::string& kind, const std::string& name) {
  absl::StatusOr<std::unique_ptr<Connection>> conn = AcquireReader();
  if (!conn.ok()) return conn.status();
  absl::Cleanup release = [&] { ReleaseReader(std::move(*conn)); };
  StoredObject object;
  absl::StatusOr<bool> found = ReadObject(**conn, kind, name, &object);
  if (!found.ok()) return found.status();
  if (!*found) return absl::NotFoundError(absl::StrCat(StoreKey(kind, name), " not found"));
  return object;
}

absl::Status SqliteStore::GetMany(const std::string& kind, const std::vector<std::string>& names,
                                  const std::function<void(size_t, const StoredObject&)>& visit) {
  if (names.empty()) return absl::OkStatus();
  return InSnapshot([&](Connection& r) -> absl::Status {
    StoredObject object;
    for (size_t i = 0; i < names.size(); ++i) {
      absl::StatusOr<bool> found = ReadObject(r, kind, names[i], &object);
      if (!found.ok()) return found.status();
      if (*found) visit(i, object);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> SqliteStore::List(const std::string& kind,
                                          const std::function<bool(const StoredObject&)>& visit) {
  int64_t revision = 0;
  absl::Status read = InSnapshot([&](Connection& r) -> absl::Status {
    absl::StatusOr<int64_t> at = r.MetaInt("revision");
    if (!at.ok()) return at.status();
    revision = *at;
    ScopedReset reset(&r.list_objects);
    r.list_objects.BindText(1, kind);
    StoredObject object;
    object.kind = kind;
    while (true) {
      absl::StatusOr<bool> row = r.list_objects.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      object.name = r.list_objects.ColumnText(0);
      object.value = r.list_objects.ColumnBlob(1);
      object.revision = r.list_objects.ColumnInt64(2);
      object.create_revision = r.list_objects.ColumnInt64(3);
      if (!visit(object)) break;
    }
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  return revision;
}

int64_t SqliteStore::CurrentRevision() {
  absl::MutexLock lock(&revision_mu_);
  return revision_;
}

absl::StatusOr<std::vector<Change>> SqliteStore::ChangesSince(int64_t after,
                                                              const std::string& kind,
                                                              size_t limit) {
  if (after < 0) {
    return absl::InvalidArgumentError(absl::StrCat("revision ", after, " is negative"));
  }
  std::vector<Change> changes;
  absl::Status read = InSnapshot([&](Connection& r) -> absl::Status {
    absl::StatusOr<int64_t> compacted = r.MetaInt("compacted_revision");
    if (!compacted.ok()) return compacted.status();
    if (after < *compacted) {
      return absl::OutOfRangeError(absl::StrCat("revision ", after,
                                                " is older than the retained change log (changes "
                                                "after revision ",
                                                *compacted, " are kept)"));
    }
    SqliteStatement& query = kind.empty() ? r.changes_all : r.changes_of_kind;
    ScopedReset reset(&query);
    query.BindInt64(1, after);
    if (!kind.empty()) query.BindText(2, kind);
    while (true) {
      absl::StatusOr<bool> row = query.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      int64_t revision = query.ColumnInt64(0);
      if (changes.size() >= limit &&
          (changes.empty() || changes.back().object.revision != revision)) {
        break;
      }
      Change change;
      change.type = query.ColumnInt64(3) != 0 ? Change::Type::kDelete : Change::Type::kPut;
      change.object.kind = query.ColumnText(1);
      change.object.name = query.ColumnText(2);
      change.object.revision = revision;
      change.created = query.ColumnInt64(4) != 0;
      if (query.ColumnIsNull(5)) {
        // A put's key is either still the one it wrote or was deleted by a
        // later change, which compaction keeps as long as the put.
        return absl::DataLossError(
            absl::StrCat("change log: ", StoreKey(change.object.kind, change.object.name),
                         " at revision ", revision, " has no value"));
      }
      change.object.value = query.ColumnBlob(5);
      changes.push_back(std::move(change));
    }
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  return changes;
}

bool SqliteStore::WaitForChange(int64_t after, absl::Duration timeout) {
  absl::MutexLock lock(&revision_mu_);
  auto advanced = [this, after]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(revision_mu_) {
    return revision_ > after || stop_waiting_;
  };
  revision_mu_.AwaitWithTimeout(absl::Condition(&advanced), timeout);
  return revision_ > after;
}

void SqliteStore::StopWaiting() {
  absl::MutexLock lock(&revision_mu_);
  stop_waiting_ = true;
}

}  // namespace ferry::controller
