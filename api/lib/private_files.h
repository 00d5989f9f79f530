#ifndef FERRY_API_LIB_PRIVATE_FILES_H_
#define FERRY_API_LIB_PRIVATE_FILES_H_

// Directories and files only their owner may read: the controller's data
// dir, database and DATA_DIR/pki, the agent's state dir and node key. Modes are set explicitly
// (fchmod/chmod after creation), never left to the umask, because a umask
// of 0 or 022 would otherwise make the store and the CA key readable by
// every local user.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ferry {

inline constexpr unsigned kPrivateDirMode = 0700;

// "a/b/" -> "a/b"; "/" stays "/".
std::string WithoutTrailingSlashes(std::string path);
// "a/b" -> "a"; "b" -> "" (the working directory); "/b" -> "/".
std::string ParentDir(const std::string& path);
// fsync of a directory ("" is the working directory), so that a rename or
// a new file in it survives a crash; errors name it.
absl::Status FsyncDir(const std::string& dir);
inline constexpr unsigned kPrivateFileMode = 0600;

// Creates `path` as a 0700 directory (missing parents get the usual
// mkdir -p modes). An existing directory with group or other bits is
// tightened to 0700 and a warning is logged, so an operator learns that
// its mode changed. FAILED_PRECONDITION if `path` exists and is not a
// directory; errors name the path.
absl::Status EnsurePrivateDir(const std::string& path);

// Replaces `path` with `contents` as a 0600 file, atomically: a temporary
// file in the same directory is written, fsynced and renamed over `path`,
// and the directory is fsynced. A reader sees the old file or the new one,
// never a torn or briefly world-readable one.
absl::Status WritePrivateFile(const std::string& path, absl::string_view contents);

// Creates `path` as an empty 0600 file if it is missing; an existing file
// with any other mode is set to 0600 (with a warning if it had group or
// other bits). Used for the database before SQLite first writes it: SQLite
// gives its -wal and -shm files the database file's mode.
absl::Status EnsurePrivateFile(const std::string& path);

// Like EnsurePrivateFile for a file that may legitimately be absent (a
// database's -wal and -shm left by an older version): absent is OK and
// nothing is created.
absl::Status TightenIfPresent(const std::string& path);

}  // namespace ferry

#endif  // FERRY_API_LIB_PRIVATE_FILES_H_
