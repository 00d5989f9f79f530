#include "api/lib/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/lib/errno_status.h"
#include "api/lib/log.h"

namespace ferry {
namespace {

constexpr mode_t kGroupOtherBits = 077;

absl::Status PathError(absl::string_view what, const std::string& path, int err) {
  return api::ErrnoStatus(absl::StrCat(what, " ", path), err);
}

std::string Octal(mode_t mode) { return absl::StrFormat("%04o", mode & 07777); }

void WarnTightened(const std::string& path, mode_t was, mode_t now) {
  LogWarning("tightened permissions: the path was readable by other users",
             {{"path", path}, {"was", Octal(was)}, {"now", Octal(now)}});
}

// Sets an open regular file to exactly 0600.
absl::Status FixFileMode(int fd, const std::string& path) {
  struct stat st = {};
  if (::fstat(fd, &st) != 0) return PathError("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a regular file; move it aside"));
  }
  mode_t mode = st.st_mode & 07777;
  if (mode == kPrivateFileMode) return absl::OkStatus();
  if (::fchmod(fd, kPrivateFileMode) != 0) {
    return PathError(absl::StrCat("cannot set mode ", Octal(kPrivateFileMode), " on"), path, errno);
  }
  if ((mode & kGroupOtherBits) != 0) WarnTightened(path, mode, kPrivateFileMode);
  return absl::OkStatus();
}

}  // namespace

std::string WithoutTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

absl::Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PathError("cannot open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return PathError("cannot fsync directory", dir, err);
  return absl::OkStatus();
}

absl::Status EnsurePrivateDir(const std::string& raw_path) {
  if (raw_path.empty()) return absl::InvalidArgumentError("directory path must not be empty");
  const std::string path = WithoutTrailingSlashes(raw_path);
  // Two rounds: a directory made by someone else between our stat and
  // mkdir is then checked like any existing one.
  for (int round = 0; round < 2; ++round) {
    struct stat st = {};
    if (::stat(path.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a directory"));
      }
      mode_t mode = st.st_mode & 07777;
      if ((mode & kGroupOtherBits) == 0) return absl::OkStatus();
      if (::chmod(path.c_str(), kPrivateDirMode) != 0) {
        return PathError(absl::StrCat("cannot set mode ", Octal(kPrivateDirMode), " on"), path,
                         errno);
      }
      WarnTightened(path, mode, kPrivateDirMode);
      return absl::OkStatus();
    }
    if (errno != ENOENT) return PathError("cannot stat", path, errno);

    std::string parent = ParentDir(path);
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec) {
        return absl::UnavailableError(
            absl::StrCat("cannot create directory ", parent, ": ", ec.message()));
      }
    }
    // mkdir's mode is only narrowed by the umask, so the directory is never
    // wider than 0700; the chmod undoes a umask that took owner bits too.
    if (::mkdir(path.c_str(), kPrivateDirMode) == 0) {
      if (::chmod(path.c_str(), kPrivateDirMode) != 0) {
        return PathError("cannot set mode 0700 on", path, errno);
      }
      return absl::OkStatus();
    }
    if (errno != EEXIST) return PathError("cannot create directory", path, errno);
  }
  return absl::UnavailableError(
      absl::StrCat("cannot create directory ", path, ": it keeps appearing and disappearing"));
}

absl::Status WritePrivateFile(const std::string& path, absl::string_view contents) {
  if (path.empty()) return absl::InvalidArgumentError("file path must not be empty");
  std::string tmp = absl::StrCat(path, ".tmp-XXXXXX");
  // mkostemp creates the file 0600 (narrowed by the umask, never widened).
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return PathError("cannot create a temporary file for", path, errno);
  bool renamed = false;
  absl::Cleanup cleanup = [&] {
    if (fd >= 0) ::close(fd);
    if (!renamed) ::unlink(tmp.c_str());
  };
  if (::fchmod(fd, kPrivateFileMode) != 0) return PathError("cannot set mode 0600 on", tmp, errno);
  absl::string_view left = contents;
  while (!left.empty()) {
    ssize_t n = ::write(fd, left.data(), left.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathError("cannot write", tmp, errno);
    left.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0) return PathError("cannot fsync", tmp, errno);
  int closed = ::close(fd);
  fd = -1;
  if (closed != 0) return PathError("cannot write", tmp, errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return PathError(absl::StrCat("cannot rename ", tmp, " to"), path, errno);
  }
  renamed = true;
  return FsyncDir(ParentDir(path));
}

absl::Status EnsurePrivateFile(const std::string& path) {
  // O_RDONLY still creates; it also opens a file whose owner bits lack w.
  // O_NONBLOCK: a FIFO planted at the path must not hang the open.
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK, kPrivateFileMode);
  if (fd < 0) return PathError("cannot create", path, errno);
  absl::Status status = FixFileMode(fd, path);
  ::close(fd);
  return status;
}

absl::Status TightenIfPresent(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return PathError("cannot open", path, errno);
  }
  absl::Status status = FixFileMode(fd, path);
  ::close(fd);
  return status;
}

}  // namespace ferry
