#ifndef FERRY_CONTROLLER_STORE_SQLITE_SCHEMA_H_
#define FERRY_CONTROLLER_STORE_SQLITE_SCHEMA_H_

// The embedded store's on-disk format and the guards around opening it:
// one controller per data dir (an flock), a file that is not Ferry's, is
// corrupt or is newer than this build is refused without being written,
// and a new or accepted file is switched to WAL with synchronous=FULL and
// given the current schema.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "controller/store/sqlite_handle.h"

namespace ferry::controller {

// 1: every change row held its value. 2: only a delete's does; 1 is
// migrated on open.
inline constexpr int64_t kSqliteSchemaVersion = 2;

// One connection with every statement the store runs prepared once. The
// SQL lives here, next to the schema it queries. Members are destroyed in
// reverse order: statements before the db.
struct SqliteConnection {
  SqliteDb db;
  SqliteStatement get_object;
  SqliteStatement get_revisions;
  SqliteStatement list_objects;
  SqliteStatement get_meta;
  SqliteStatement changes_all;
  SqliteStatement changes_of_kind;
  // Used on the writer only.
  SqliteStatement upsert_object;
  // A create: writes nothing (no error) if the key exists.
  SqliteStatement insert_new_object;
  SqliteStatement update_current_object;  // only at the expected revision
  SqliteStatement delete_object;
  SqliteStatement insert_change;
  SqliteStatement set_meta;
  SqliteStatement compaction_cutoff;
  SqliteStatement delete_changes;

  absl::Status Prepare();
  absl::StatusOr<int64_t> MetaInt(const char* key);
  absl::Status SetMeta(const char* key, int64_t value);
};

// Takes DATA_DIR/ferry.lock (exclusive, non-blocking) and returns its fd,
// held for the store's lifetime. FAILED_PRECONDITION when another
// controller holds it.
absl::StatusOr<int> LockDataDir(const std::string& data_dir);

// Opens (creating when absent or empty) the database at `path`, checks an
// existing file, and applies the pragmas and the schema.
absl::StatusOr<SqliteDb> OpenDatabaseFile(const std::string& path, int busy_timeout_ms);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_STORE_SQLITE_SCHEMA_H_
