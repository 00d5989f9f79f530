#ifndef FERRY_CONTROLLER_STORE_SNAPSHOT_H_
#define FERRY_CONTROLLER_STORE_SNAPSHOT_H_

// Backup and restore of a controller's data dir, online.
//
// A snapshot is one SQLite file: a page-for-page copy of DATA_DIR/ferry.db
// made with SQLite's online backup API in one read transaction (so it is
// exactly the store as of one committed revision, while the controller
// keeps writing: WAL readers never block the writer), switched to a
// rollback journal so it is self-contained, plus two tables of its own:
// `ferry_snapshot` (what it is) and `ferry_snapshot_files` (DATA_DIR/pki:
// the CA and its key, the serving certificate). Credentials and join
// tokens are in the store already. One file, checked as a whole by
// `PRAGMA integrity_check`, written atomically (temporary file, fsync,
// rename, fsync of the directory) and 0600, since it holds the CA key.
//
// Restore installs it into an empty or new data dir: the file is checked
// (integrity, a Ferry snapshot, a schema this build can open), the store
// and PKI files are built in a sibling staging dir, the store is opened
// there as the controller opens it (its revision must be the snapshot's),
// and the staging dir is renamed onto the data dir in one step. Every
// object keeps its resourceVersion, and the store's revision continues
// after the snapshot's.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::controller {

// Format of the snapshot's own tables.
inline constexpr int64_t kSnapshotFormat = 1;

struct SnapshotInfo {
  int64_t revision = 0;                    // the store's revision the snapshot holds
  int64_t schema_version = 0;              // the store's schema
  std::map<std::string, int64_t> objects;  // count per kind
  std::vector<std::string> files;          // data-dir-relative, e.g. pki/ca.key
  std::string created;                     // RFC 3339, when it was taken
};

// Writes a snapshot of the store in `data_dir` (and its pki/) to `file`,
// replacing it atomically. Safe while a controller runs on `data_dir`;
// takes no lock on it. NOT_FOUND when there is no store there.
absl::StatusOr<SnapshotInfo> SaveSnapshot(const std::string& data_dir, const std::string& file);

// Checks `file` without changing it: a healthy SQLite file, a Ferry
// snapshot, a store schema this build opens. DATA_LOSS (corrupt) or
// FAILED_PRECONDITION (not a snapshot, newer schema) naming the file.
absl::StatusOr<SnapshotInfo> InspectSnapshot(const std::string& file);

// Installs `file` as `data_dir`, which must be absent or an empty
// directory (FAILED_PRECONDITION otherwise: nothing is overwritten). When
// run as root over an existing empty dir, the installed files get that
// dir's owner, so a controller running as another user can open them.
absl::StatusOr<SnapshotInfo> RestoreSnapshot(const std::string& file, const std::string& data_dir);

// `ferry-controller snapshot save|restore|inspect ...`: `args` are the
// words after "snapshot". Prints what it did on stdout, errors on stderr;
// returns the exit code (0, 1 failure, 2 usage).
int SnapshotCommand(const std::vector<std::string>& args);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_STORE_SNAPSHOT_H_
