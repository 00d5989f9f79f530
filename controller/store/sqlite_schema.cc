#include "controller/store/sqlite_schema.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "api/lib/errno_status.h"

namespace ferry::controller {
namespace {

// Schema 2. A put's change row holds no value: a reader gets the key's
// value from objects, so a put stores its value once, not twice. A delete's
// row keeps the value it removed.
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS objects(
  kind TEXT NOT NULL, name TEXT NOT NULL, value BLOB NOT NULL,
  revision INTEGER NOT NULL, create_revision INTEGER NOT NULL,
  PRIMARY KEY(kind, name));
-- One row per key written; all rows of one commit share its revision.
CREATE TABLE IF NOT EXISTS changes(
  revision INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
  deleted INTEGER NOT NULL, created INTEGER NOT NULL,
  value BLOB,  -- deletes only: the value before deletion
  PRIMARY KEY(revision, kind, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);
INSERT OR IGNORE INTO meta(key, value) VALUES
  ('schema_version', 2), ('revision', 0), ('compacted_revision', 0);
)sql";

// Schema 1 kept every change's value (and its type as text). Its put rows
// drop theirs; its delete rows keep them.
constexpr char kMigrate1To2[] = R"sql(
CREATE TABLE changes_v2(
  revision INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
  deleted INTEGER NOT NULL, created INTEGER NOT NULL, value BLOB,
  PRIMARY KEY(revision, kind, name)) WITHOUT ROWID;
INSERT INTO changes_v2(revision, kind, name, deleted, created, value)
  SELECT revision, kind, name, type = 'delete', created,
         CASE WHEN type = 'delete' THEN value END FROM changes;
DROP TABLE changes;
ALTER TABLE changes_v2 RENAME TO changes;
UPDATE meta SET value = 2 WHERE key = 'schema_version';
)sql";

// A put whose key is gone reads its value from the next delete of the key.
constexpr char kIndexes[] = R"sql(
CREATE INDEX IF NOT EXISTS changes_deletes ON changes(kind, name, revision)
  WHERE deleted = 1;
)sql";

// A change as a reader gets it. A put's value is the key's value now if the
// key is still the one the put wrote (created at or before it), else the
// value the key's next delete removed: either way the value at the put's
// revision or a later one.
#define FERRY_CHANGE_SELECT                                                      \
  "SELECT c.revision, c.kind, c.name, c.deleted, c.created, "                    \
  "CASE WHEN c.deleted THEN c.value ELSE coalesce("                              \
  "(SELECT o.value FROM objects o WHERE o.kind = c.kind AND o.name = c.name "    \
  "AND o.create_revision <= c.revision), "                                       \
  "(SELECT d.value FROM changes d WHERE d.kind = c.kind AND d.name = c.name "    \
  "AND d.deleted = 1 AND d.revision > c.revision ORDER BY d.revision LIMIT 1)) " \
  "END FROM changes c "

// Checks an existing file without writing to it: sqlite only reads here,
// and the WAL switch (the first write) happens after these checks pass.
absl::Status CheckExistingFile(SqliteDb& db, const std::string& path) {
  const std::string refuse = absl::StrCat(
      "; refusing to open it (the file is left untouched: "
      "restore it from a backup or move it aside)");
  absl::StatusOr<SqliteStatement> check = db.Prepare("PRAGMA quick_check");
  absl::StatusOr<bool> row = check.ok() ? check->Step() : check.status();
  if (!row.ok() || !*row || check->ColumnText(0) != "ok") {
    std::string why = !row.ok() ? std::string(sqlite3_errmsg(db.get()))
                      : !*row   ? std::string("quick_check returned nothing")
                                : check->ColumnText(0);
    return absl::DataLossError(absl::StrCat(
        "database ", path, " is corrupt or not a SQLite database (", why, ")", refuse));
  }
  check->Reset();

  absl::StatusOr<SqliteStatement> tables = db.Prepare("SELECT count(*) FROM sqlite_schema");
  if (!tables.ok()) return tables.status();
  absl::StatusOr<bool> counted = tables->Step();
  if (!counted.ok()) return counted.status();
  if (tables->ColumnInt64(0) == 0) return absl::OkStatus();  // empty: new

  absl::StatusOr<SqliteStatement> version =
      db.Prepare("SELECT value FROM meta WHERE key = 'schema_version'");
  absl::StatusOr<bool> found = version.ok() ? version->Step() : version.status();
  if (!found.ok() || !*found) {
    return absl::FailedPreconditionError(
        absl::StrCat("database ", path,
                     " is not a Ferry database (no schema_version in "
                     "table meta)",
                     refuse));
  }
  int64_t schema_version = version->ColumnInt64(0);
  if (schema_version > kSqliteSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("database ", path, " has schema_version ", schema_version,
                     ", newer than this ferry-controller supports (", kSqliteSchemaVersion,
                     "); upgrade ferry-controller", refuse));
  }
  return absl::OkStatus();
}

// Creates what is missing and brings an older schema up to this one,
// inside the caller's transaction.
absl::Status ApplySchema(SqliteDb& db) {
  if (absl::Status s = db.Exec(kSchema); !s.ok()) return s;
  int64_t schema_version = 0;
  {
    absl::StatusOr<SqliteStatement> version =
        db.Prepare("SELECT value FROM meta WHERE key = 'schema_version'");
    absl::StatusOr<bool> found = version.ok() ? version->Step() : version.status();
    if (!found.ok()) return found.status();
    if (*found) schema_version = version->ColumnInt64(0);
  }  // finalized before the tables change
  if (schema_version == 1) {
    if (absl::Status s = db.Exec(kMigrate1To2); !s.ok()) return s;
  }
  return db.Exec(kIndexes);
}

}  // namespace

absl::Status SqliteConnection::Prepare() {
  struct {
    SqliteStatement* stmt;
    const char* sql;
  } const statements[] = {
      {&get_object,
       "SELECT value, revision, create_revision FROM objects "
       "WHERE kind = ?1 AND name = ?2"},
      {&list_objects,
       "SELECT name, value, revision, create_revision FROM objects "
       "WHERE kind = ?1 ORDER BY name"},
      {&get_revisions,
       "SELECT revision, create_revision FROM objects "
       "WHERE kind = ?1 AND name = ?2"},
      {&get_meta, "SELECT value FROM meta WHERE key = ?1"},
      {&changes_all,
       FERRY_CHANGE_SELECT "WHERE c.revision > ?1 ORDER BY c.revision, c.kind, c.name"},
      {&changes_of_kind,
       FERRY_CHANGE_SELECT "WHERE c.revision > ?1 AND c.kind = ?2 ORDER BY c.revision, c.name"},
      {&upsert_object,
       "INSERT INTO objects(kind, name, value, revision, create_revision) "
       "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(kind, name) DO UPDATE SET "
       "value = excluded.value, revision = excluded.revision"},
      {&insert_new_object,
       "INSERT INTO objects(kind, name, value, revision, create_revision) "
       "VALUES(?1, ?2, ?3, ?4, ?4) ON CONFLICT(kind, name) DO NOTHING"},
      {&update_current_object,
       "UPDATE objects SET value = ?3, revision = ?4 "
       "WHERE kind = ?1 AND name = ?2 AND revision = ?5"},
      {&delete_object, "DELETE FROM objects WHERE kind = ?1 AND name = ?2"},
      {&insert_change,
       "INSERT INTO changes(revision, kind, name, deleted, created, value) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6)"},
      {&set_meta, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)"},
      {&compaction_cutoff,
       "SELECT revision FROM changes ORDER BY revision DESC "
       "LIMIT 1 OFFSET ?1"},
      {&delete_changes, "DELETE FROM changes WHERE revision <= ?1"},
  };
#undef FERRY_CHANGE_SELECT
  for (const auto& s : statements) {
    absl::StatusOr<SqliteStatement> prepared = db.Prepare(s.sql);
    if (!prepared.ok()) return prepared.status();
    *s.stmt = std::move(*prepared);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SqliteConnection::MetaInt(const char* key) {
  ScopedReset reset(&get_meta);
  get_meta.BindText(1, key);
  absl::StatusOr<bool> row = get_meta.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::DataLossError(absl::StrCat("meta key ", key, " is missing"));
  return get_meta.ColumnInt64(0);
}

absl::Status SqliteConnection::SetMeta(const char* key, int64_t value) {
  ScopedReset reset(&set_meta);
  set_meta.BindText(1, key);
  set_meta.BindInt64(2, value);
  return set_meta.Run();
}

absl::StatusOr<int> LockDataDir(const std::string& data_dir) {
  std::string lock_path = data_dir + "/ferry.lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return api::ErrnoStatus(absl::StrCat("cannot open ", lock_path), errno);
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat("data dir ", data_dir,
                                                        " is in use by another ferry-controller (",
                                                        lock_path, " is locked)"));
    }
    return api::ErrnoStatus(absl::StrCat("cannot lock ", lock_path), err);
  }
  return fd;
}

absl::StatusOr<SqliteDb> OpenDatabaseFile(const std::string& path, int busy_timeout_ms) {
  std::error_code ec;
  bool existed = std::filesystem::file_size(path, ec) > 0 && !ec;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (existed ? 0 : SQLITE_OPEN_CREATE);
  absl::StatusOr<SqliteDb> db = SqliteDb::Open(path, flags);
  if (!db.ok()) return db.status();
  sqlite3_busy_timeout(db->get(), busy_timeout_ms);
  if (existed) {
    absl::Status checked = CheckExistingFile(*db, path);
    if (!checked.ok()) return checked;
  }
  absl::StatusOr<SqliteStatement> wal = db->Prepare("PRAGMA journal_mode=WAL");
  absl::StatusOr<bool> row = wal.ok() ? wal->Step() : wal.status();
  if (!row.ok()) return row.status();
  if (!*row || wal->ColumnText(0) != "wal") {
    return absl::UnavailableError(absl::StrCat("database ", path, ": cannot switch to WAL mode"));
  }
  wal->Reset();
  *wal = SqliteStatement();  // finalize before the db moves
  for (const char* sql : {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON", "BEGIN IMMEDIATE"}) {
    absl::Status status = db->Exec(sql);
    if (!status.ok()) return status;
  }
  absl::Status schema = ApplySchema(*db);
  if (!schema.ok()) {
    db->Exec("ROLLBACK").IgnoreError();
    return schema;
  }
  absl::Status committed = db->Exec("COMMIT");
  if (!committed.ok()) return committed;

  return db;
}

}  // namespace ferry::controller
