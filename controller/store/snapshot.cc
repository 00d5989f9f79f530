#include "controller/store/snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/lib/errno_status.h"
#include "api/lib/files.h"
#include "api/lib/private_files.h"
#include "controller/store/sqlite_handle.h"
#include "controller/store/sqlite_schema.h"
#include "controller/store/sqlite_store.h"

namespace ferry::controller {
namespace {

constexpr int kBusyTimeoutMs = 5000;
// A backup step that meets a lock (a WAL recovery in the controller, say)
// is tried again this often, 50 ms apart, before the save gives up.
constexpr int kBackupBusyRetries = 200;
constexpr char kPkiDir[] = "pki";

absl::Status PathError(absl::string_view what, const std::string& path, int err) {
  return api::ErrnoStatus(absl::StrCat(what, " ", path), err);
}

absl::Status FsyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return PathError("cannot open", path, errno);
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  if (::fsync(fd) != 0) return PathError("cannot fsync", path, errno);
  return absl::OkStatus();
}

// One statement's single integer, or NOT_FOUND for no row.
absl::StatusOr<int64_t> QueryInt(SqliteDb& db, const std::string& sql) {
  absl::StatusOr<SqliteStatement> stmt = db.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("no row for ", sql));
  return stmt->ColumnInt64(0);
}

absl::Status CheckIntegrity(SqliteDb& db, const std::string& file) {
  absl::StatusOr<SqliteStatement> check = db.Prepare("PRAGMA integrity_check");
  std::vector<std::string> problems;
  absl::Status failed = check.status();
  while (failed.ok()) {
    absl::StatusOr<bool> row = check->Step();
    if (!row.ok()) {
      failed = row.status();
      break;
    }
    if (!*row) break;
    problems.push_back(check->ColumnText(0));
  }
  if (failed.ok() && problems.size() == 1 && problems[0] == "ok") return absl::OkStatus();
  std::string why =
      !failed.ok() ? std::string(failed.message())
      : problems.empty()
          ? std::string("integrity_check returned nothing")
          : absl::StrJoin(problems.begin(), problems.begin() + std::min<size_t>(problems.size(), 3),
                          "; ");
  return absl::DataLossError(
      absl::StrCat("snapshot ", file, " is corrupt or not a SQLite database (", why, ")"));
}

// What the store in `db` holds: its schema (one this build can open),
// revision and objects. `what` names the file in errors.
absl::Status ReadStoreInfo(SqliteDb& db, const std::string& what, SnapshotInfo* info) {
  absl::StatusOr<int64_t> schema =
      QueryInt(db, "SELECT value FROM meta WHERE key = 'schema_version'");
  absl::StatusOr<int64_t> revision = QueryInt(db, "SELECT value FROM meta WHERE key = 'revision'");
  if (!schema.ok() || !revision.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " is not a Ferry store (no schema_version and revision in table meta)"));
  }
  if (*schema > kSqliteSchemaVersion || *schema < 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " holds a store of schema_version ", *schema,
                     "; this ferry-controller opens 1 to ", kSqliteSchemaVersion,
                     *schema > kSqliteSchemaVersion ? ": use a newer ferry-controller" : ""));
  }
  info->schema_version = *schema;
  info->revision = *revision;
  absl::StatusOr<SqliteStatement> kinds =
      db.Prepare("SELECT kind, count(*) FROM objects GROUP BY kind ORDER BY kind");
  if (!kinds.ok()) return kinds.status();
  while (true) {
    absl::StatusOr<bool> row = kinds->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    info->objects[kinds->ColumnText(0)] = kinds->ColumnInt64(1);
  }
  return absl::OkStatus();
}

// The snapshot's own tables: its format, when it was made, its files.
absl::Status ReadSnapshotTables(SqliteDb& db, const std::string& file, SnapshotInfo* info) {
  absl::StatusOr<int64_t> format =
      QueryInt(db, "SELECT value FROM ferry_snapshot WHERE key = 'format'");
  if (!format.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(file,
                     " is not a ferry-controller snapshot (no table ferry_snapshot); make one "
                     "with: ferry-controller snapshot save --data-dir DIR FILE"));
  }
  if (*format != kSnapshotFormat) {
    return absl::FailedPreconditionError(absl::StrCat("snapshot ", file, " has format ", *format,
                                                      "; this ferry-controller reads format ",
                                                      kSnapshotFormat));
  }
  {
    absl::StatusOr<SqliteStatement> created =
        db.Prepare("SELECT value FROM ferry_snapshot WHERE key = 'created'");
    if (!created.ok()) return created.status();
    absl::StatusOr<bool> row = created->Step();
    if (!row.ok()) return row.status();
    if (*row) info->created = created->ColumnText(0);
  }
  absl::StatusOr<SqliteStatement> files =
      db.Prepare("SELECT path FROM ferry_snapshot_files ORDER BY path");
  if (!files.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot ", file, " lacks its table ferry_snapshot_files"));
  }
  while (true) {
    absl::StatusOr<bool> row = files->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    info->files.push_back(files->ColumnText(0));
  }
  return absl::OkStatus();
}

// The regular files directly in DATA_DIR/pki, as (relative path, bytes).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadPkiFiles(
    const std::string& data_dir) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string dir = absl::StrCat(data_dir, "/", kPkiDir);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;  // own PKI (--tls-cert): none
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
  }
  if (ec) return PathError("cannot list", dir, ec.value());
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    // The controller replaces these files by rename, so a read sees a
    // whole old or a whole new one.
    absl::StatusOr<std::string> content = api::ReadFileToString(absl::StrCat(dir, "/", name));
    if (!content.ok()) return content.status();
    out.emplace_back(absl::StrCat(kPkiDir, "/", name), *std::move(content));
  }
  return out;
}

// Copies `from` to a new 0600 file `to` and fsyncs it.
absl::Status CopyFile(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return PathError("cannot read", from, errno);
  absl::Cleanup close_in = [in] { ::close(in); };
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kPrivateFileMode);
  if (out < 0) return PathError("cannot create", to, errno);
  absl::Cleanup close_out = [out] { ::close(out); };
  if (::fchmod(out, kPrivateFileMode) != 0) return PathError("cannot chmod", to, errno);
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(in, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathError("cannot read", from, errno);
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out, buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return PathError("cannot write", to, errno);
      done += w;
    }
  }
  if (::fsync(out) != 0) return PathError("cannot fsync", to, errno);
  return absl::OkStatus();
}

// A snapshot's file path: relative, under pki/, no "..", no empty part.
bool SafeRelativePath(const std::string& path) {
  if (!absl::StartsWith(path, absl::StrCat(kPkiDir, "/"))) return false;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

// The entries of `dir` other than "." and ".." (and a file system's
// lost+found, which a freshly made volume holds).
absl::StatusOr<std::vector<std::string>> DirEntries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return PathError("cannot list", dir, errno);
  absl::Cleanup close_dir = [d] { ::closedir(d); };
  std::vector<std::string> out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != ".." && name != "lost+found") out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<SqliteDb> OpenSnapshotFile(const std::string& file, int flags) {
  struct stat st = {};
  if (::stat(file.c_str(), &st) != 0) return PathError("cannot read snapshot", file, errno);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("snapshot ", file, " is not a regular file"));
  }
  absl::StatusOr<SqliteDb> db = SqliteDb::Open(file, flags | SQLITE_OPEN_NOMUTEX);
  if (!db.ok()) return db.status();
  sqlite3_busy_timeout(db->get(), kBusyTimeoutMs);
  return db;
}

std::string Describe(const SnapshotInfo& info) {
  std::vector<std::string> kinds;
  for (const auto& [kind, count] : info.objects) kinds.push_back(absl::StrCat(kind, " ", count));
  return absl::StrCat("revision ", info.revision, ", schema ", info.schema_version,
                      "; objects: ", kinds.empty() ? "none" : absl::StrJoin(kinds, ", "),
                      "; files: ", info.files.empty() ? "none" : absl::StrJoin(info.files, " "));
}

}  // namespace

absl::StatusOr<SnapshotInfo> SaveSnapshot(const std::string& data_dir, const std::string& file) {
  if (data_dir.empty()) return absl::InvalidArgumentError("--data-dir: must not be empty");
  if (file.empty()) return absl::InvalidArgumentError("FILE: the snapshot's path is missing");
  const std::string db_path = absl::StrCat(WithoutTrailingSlashes(data_dir), "/ferry.db");
  struct stat st = {};
  if (::stat(db_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
    return absl::NotFoundError(
        absl::StrCat("--data-dir ", data_dir, ": no store (", db_path, " is missing or empty)"));
  }
  // As the store's own readers open it: read-write (a WAL reader needs the
  // shared-memory file) but query-only, never creating anything.
  absl::StatusOr<SqliteDb> src =
      SqliteDb::Open(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  if (!src.ok()) return src.status();
  sqlite3_busy_timeout(src->get(), kBusyTimeoutMs);
  if (absl::Status s = src->Exec("PRAGMA query_only=ON"); !s.ok()) return s;

  std::string tmp = absl::StrCat(file, ".tmp-XXXXXX");
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return PathError("cannot create a file beside", file, errno);
  bool installed = false;
  absl::Cleanup remove_tmp = [&] {
    if (!installed) ::unlink(tmp.c_str());
  };
  if (::fchmod(fd, kPrivateFileMode) != 0) {
    int err = errno;
    ::close(fd);
    return PathError("cannot chmod", tmp, err);
  }
  ::close(fd);

  SnapshotInfo info;
  {
    absl::StatusOr<SqliteDb> dst = SqliteDb::Open(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
    if (!dst.ok()) return dst.status();
    // One step of every page: one read transaction on the source, so the
    // copy is the store as of one commit while the controller writes on.
    sqlite3_backup* backup = sqlite3_backup_init(dst->get(), "main", src->get(), "main");
    if (backup == nullptr) return dst->Error("cannot start the backup");
    int rc = SQLITE_OK;
    for (int attempt = 0; attempt < kBackupBusyRetries; ++attempt) {
      rc = sqlite3_backup_step(backup, -1);
      if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
      sqlite3_sleep(50);
    }
    int finished = sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) {
      return absl::UnavailableError(
          absl::StrCat("cannot copy ", db_path, ": ", sqlite3_errstr(rc)));
    }
    if (finished != SQLITE_OK) return dst->Error("cannot finish the backup");
    *src = SqliteDb();  // the source's read transaction ends here

    // Self-contained: a rollback journal, not WAL, so the file is all of it.
    {
      absl::StatusOr<SqliteStatement> mode = dst->Prepare("PRAGMA journal_mode=DELETE");
      absl::StatusOr<bool> row = mode.ok() ? mode->Step() : mode.status();
      if (!row.ok()) return row.status();
      if (!*row || mode->ColumnText(0) != "delete") {
        return absl::InternalError(absl::StrCat("cannot take ", tmp, " out of WAL mode"));
      }
    }
    if (absl::Status s = ReadStoreInfo(*dst, db_path, &info); !s.ok()) return s;

    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> files =
        ReadPkiFiles(WithoutTrailingSlashes(data_dir));
    if (!files.ok()) return files.status();
    info.created = absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
    if (absl::Status s = dst->Exec(
            "BEGIN;"
            "CREATE TABLE ferry_snapshot(key TEXT PRIMARY KEY, value);"
            "CREATE TABLE ferry_snapshot_files(path TEXT PRIMARY KEY, mode INTEGER NOT NULL, "
            "content BLOB NOT NULL);");
        !s.ok()) {
      return s;
    }
    {
      absl::StatusOr<SqliteStatement> put =
          dst->Prepare("INSERT INTO ferry_snapshot(key, value) VALUES(?1, ?2)");
      if (!put.ok()) return put.status();
      for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
               {"format", absl::StrCat(kSnapshotFormat)},
               {"created", info.created},
               {"data_dir", data_dir}}) {
        put->BindText(1, key);
        if (key == "format") {
          put->BindInt64(2, kSnapshotFormat);
        } else {
          put->BindText(2, value);
        }
        if (absl::Status s = put->Run(); !s.ok()) return s;
        put->Reset();
      }
      absl::StatusOr<SqliteStatement> put_file =
          dst->Prepare("INSERT INTO ferry_snapshot_files(path, mode, content) VALUES(?1, ?2, ?3)");
      if (!put_file.ok()) return put_file.status();
      for (const auto& [path, content] : *files) {
        put_file->BindText(1, path);
        put_file->BindInt64(2, kPrivateFileMode);
        put_file->BindBlob(3, content);
        if (absl::Status s = put_file->Run(); !s.ok()) return s;
        put_file->Reset();
        info.files.push_back(path);
      }
    }
    if (absl::Status s = dst->Exec("COMMIT"); !s.ok()) return s;
  }  // closed: everything is in the file

  // Checked as restore will check it, from the file as written.
  {
    absl::StatusOr<SqliteDb> reopened = OpenSnapshotFile(tmp, SQLITE_OPEN_READONLY);
    if (!reopened.ok()) return reopened.status();
    if (absl::Status s = CheckIntegrity(*reopened, tmp); !s.ok()) return s;
    SnapshotInfo check;
    if (absl::Status s = ReadStoreInfo(*reopened, tmp, &check); !s.ok()) return s;
    if (absl::Status s = ReadSnapshotTables(*reopened, tmp, &check); !s.ok()) return s;
    if (check.revision != info.revision || check.files != info.files) {
      return absl::InternalError(absl::StrCat("snapshot ", tmp, " reads back differently"));
    }
  }
  if (absl::Status s = FsyncFile(tmp); !s.ok()) return s;
  if (::rename(tmp.c_str(), file.c_str()) != 0) return PathError("cannot rename to", file, errno);
  installed = true;
  if (absl::Status s = FsyncDir(ParentDir(file)); !s.ok()) return s;
  return info;
}

absl::StatusOr<SnapshotInfo> InspectSnapshot(const std::string& file) {
  absl::StatusOr<SqliteDb> db = OpenSnapshotFile(file, SQLITE_OPEN_READONLY);
  if (!db.ok()) return db.status();
  if (absl::Status s = CheckIntegrity(*db, file); !s.ok()) return s;
  SnapshotInfo info;
  if (absl::Status s = ReadSnapshotTables(*db, file, &info); !s.ok()) return s;
  if (absl::Status s = ReadStoreInfo(*db, absl::StrCat("snapshot ", file), &info); !s.ok()) {
    return s;
  }
  return info;
}

absl::StatusOr<SnapshotInfo> RestoreSnapshot(const std::string& file,
                                             const std::string& data_dir_flag) {
  if (data_dir_flag.empty()) return absl::InvalidArgumentError("--data-dir: must not be empty");
  absl::StatusOr<SnapshotInfo> info = InspectSnapshot(file);
  if (!info.ok()) return info.status();
  for (const std::string& path : info->files) {
    if (!SafeRelativePath(path)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "snapshot ", file, " names a file outside the data dir's pki/: \"", path, "\""));
    }
  }

  const std::string data_dir = WithoutTrailingSlashes(data_dir_flag);
  struct stat st = {};
  if (::stat(data_dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("--data-dir ", data_dir, " exists and is not a directory"));
    }
    absl::StatusOr<std::vector<std::string>> entries = DirEntries(data_dir);
    if (!entries.ok()) return entries.status();
    if (!entries->empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--data-dir ", data_dir, " is not empty (it holds ", absl::StrJoin(*entries, ", "),
          "); restore only into a new or empty directory: nothing was changed"));
    }
  } else if (errno != ENOENT) {
    return PathError("cannot stat --data-dir", data_dir, errno);
  }
  if (absl::Status s = EnsurePrivateDir(data_dir); !s.ok()) return s;
  if (::stat(data_dir.c_str(), &st) != 0) return PathError("cannot stat", data_dir, errno);
  // No controller may start on the dir while it is filled.
  absl::StatusOr<int> lock_fd = LockDataDir(data_dir);
  if (!lock_fd.ok()) return lock_fd.status();
  absl::Cleanup unlock = [fd = *lock_fd] { ::close(fd); };

  // Built in a staging dir inside the data dir (the same file system, even
  // when the data dir is a mount point), then moved in: the PKI first, the
  // store last, so a store is there whole or not at all.
  std::string staging = absl::StrCat(data_dir, "/.restore-XXXXXX");
  if (::mkdtemp(staging.data()) == nullptr) {
    return PathError("cannot create a staging dir in", data_dir, errno);
  }
  absl::Cleanup remove_staging = [&staging] {
    std::error_code ec;
    std::filesystem::remove_all(staging, ec);
  };
  const std::string staged_db = absl::StrCat(staging, "/ferry.db");
  if (absl::Status s = CopyFile(file, staged_db); !s.ok()) return s;
  {
    absl::StatusOr<SqliteDb> db =
        SqliteDb::Open(staged_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
    if (!db.ok()) return db.status();
    {
      absl::StatusOr<SqliteStatement> files =
          db->Prepare("SELECT path, content FROM ferry_snapshot_files ORDER BY path");
      if (!files.ok()) return files.status();
      while (true) {
        absl::StatusOr<bool> row = files->Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        const std::string path = absl::StrCat(staging, "/", files->ColumnText(0));
        if (absl::Status s = EnsurePrivateDir(ParentDir(path)); !s.ok()) return s;
        if (absl::Status s = WritePrivateFile(path, files->ColumnBlob(1)); !s.ok()) return s;
      }
    }
    // The store a controller opens holds nothing but the store.
    if (absl::Status s = db->Exec("DROP TABLE ferry_snapshot_files; DROP TABLE ferry_snapshot;");
        !s.ok()) {
      return s;
    }
  }
  // Opened as the controller opens it: WAL, schema brought up to date, and
  // the revision the snapshot held.
  {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(staging);
    if (!store.ok()) return store.status();
    if ((*store)->CurrentRevision() != info->revision) {
      return absl::InternalError(absl::StrCat("restored store at revision ",
                                              (*store)->CurrentRevision(), ", snapshot holds ",
                                              info->revision));
    }
  }
  std::vector<std::string> moves;
  if (!info->files.empty()) moves.push_back(kPkiDir);
  moves.push_back("ferry.db");
  for (const std::string& name : moves) {
    const std::string from = absl::StrCat(staging, "/", name);
    const std::string to = absl::StrCat(data_dir, "/", name);
    // Root restoring for the controller's own user: the files are theirs.
    if (::geteuid() == 0 && (st.st_uid != 0 || st.st_gid != 0)) {
      std::error_code ec;
      std::vector<std::string> paths = {from};
      if (std::filesystem::is_directory(from, ec)) {
        for (const auto& e : std::filesystem::recursive_directory_iterator(from, ec)) {
          paths.push_back(e.path().string());
        }
      }
      for (const std::string& p : paths) {
        if (::lchown(p.c_str(), st.st_uid, st.st_gid) != 0) {
          return PathError("cannot chown", p, errno);
        }
      }
    }
    if (::rename(from.c_str(), to.c_str()) != 0) return PathError("cannot move into", to, errno);
  }
  if (absl::Status s = FsyncDir(data_dir); !s.ok()) return s;
  return info;
}

namespace {

constexpr char kUsage[] =
    "usage:\n"
    "  ferry-controller snapshot save --data-dir DIR FILE\n"
    "      write a consistent snapshot of the store in DIR (and DIR/pki) to FILE;\n"
    "      safe while the controller runs\n"
    "  ferry-controller snapshot restore --data-dir DIR FILE\n"
    "      install FILE into DIR, which must be new or empty; then start the\n"
    "      controller with --data-dir DIR\n"
    "  ferry-controller snapshot inspect FILE\n"
    "      check FILE and print what it holds\n";

int Usage(const std::string& error) {
  std::fprintf(stderr, "ferry-controller snapshot: %s\n%s", error.c_str(), kUsage);
  return 2;
}

}  // namespace

int SnapshotCommand(const std::vector<std::string>& args) {
  if (args.empty()) return Usage("a command is missing: save, restore or inspect");
  const std::string& verb = args[0];
  if (verb == "-h" || verb == "--help" || verb == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (verb != "save" && verb != "restore" && verb != "inspect") {
    return Usage(absl::StrCat("unknown command \"", verb, "\": use save, restore or inspect"));
  }
  std::string data_dir;
  bool have_data_dir = false;
  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--data-dir" || a == "--data_dir") {
      if (i + 1 >= args.size()) return Usage("--data-dir: needs a value");
      data_dir = args[++i];
      have_data_dir = true;
    } else if (absl::StartsWith(a, "--data-dir=") || absl::StartsWith(a, "--data_dir=")) {
      data_dir = a.substr(a.find('=') + 1);
      have_data_dir = true;
    } else if (absl::StartsWith(a, "-") && a != "-") {
      return Usage(absl::StrCat("unknown flag \"", a, "\""));
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 1) {
    return Usage(positional.empty() ? "FILE: the snapshot's path is missing"
                                    : absl::StrCat("one FILE expected, got ", positional.size()));
  }
  const std::string& file = positional[0];
  if (verb == "inspect") {
    if (have_data_dir) return Usage("inspect takes no --data-dir");
    absl::StatusOr<SnapshotInfo> info = InspectSnapshot(file);
    if (!info.ok()) {
      std::fprintf(stderr, "ferry-controller snapshot: %s\n",
                   std::string(info.status().message()).c_str());
      return 1;
    }
    std::printf("snapshot %s taken %s: %s\n", file.c_str(), info->created.c_str(),
                Describe(*info).c_str());
    return 0;
  }
  if (!have_data_dir || data_dir.empty()) return Usage("--data-dir: required, e.g. /var/lib/ferry");
  absl::StatusOr<SnapshotInfo> info =
      verb == "save" ? SaveSnapshot(data_dir, file) : RestoreSnapshot(file, data_dir);
  if (!info.ok()) {
    std::fprintf(stderr, "ferry-controller snapshot %s: %s\n", verb.c_str(),
                 std::string(info.status().message()).c_str());
    return 1;
  }
  if (verb == "save") {
    std::printf("snapshot of %s saved to %s: %s\n", data_dir.c_str(), file.c_str(),
                Describe(*info).c_str());
  } else {
    std::printf("snapshot %s restored into %s: %s\n", file.c_str(), data_dir.c_str(),
                Describe(*info).c_str());
  }
  return 0;
}

}  // namespace ferry::controller
