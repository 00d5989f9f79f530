#include "node-agent/client/credential_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "api/lib/files.h"
#include "api/lib/log.h"
#include "api/lib/private_files.h"

namespace ferry::agent {
namespace {

constexpr mode_t kKeyMode = 0600;
constexpr mode_t kCertMode = 0644;

std::string PathIn(const std::string& dir, absl::string_view name) {
  return absl::StrCat(dir, "/", name);
}

std::string Tmp(const std::string& path) { return path + ".tmp"; }

absl::Status ErrnoError(absl::string_view what, const std::string& path, int err) {
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  return absl::UnavailableError(message);
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Writes `path` with exactly `mode` (fchmod: the umask does not apply) and
// fsyncs it.
absl::Status WriteSynced(const std::string& path, absl::string_view contents, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return ErrnoError("cannot create", path, errno);
  absl::Status status;
  if (::fchmod(fd, mode) != 0) status = ErrnoError("cannot set the mode of", path, errno);
  for (size_t done = 0; status.ok() && done < contents.size();) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = ErrnoError("cannot write", path, errno);
    if (n > 0) done += static_cast<size_t>(n);
  }
  if (status.ok() && ::fsync(fd) != 0) status = ErrnoError("cannot fsync", path, errno);
  ::close(fd);
  return status;
}

absl::Status Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoError("cannot rename to", to, errno);
  return absl::OkStatus();
}

// A crash between StoreNodeCredentials' renames leaves node.key.tmp (the
// last to be renamed) behind. If it is the key of the newest certificate
// there (node.crt.tmp if it is still waiting, else node.crt), the store got
// as far as writing every temporary, so the renames are completed.
void FinishInterruptedStore(const std::string& dir) {
  const std::string key = PathIn(dir, kNodeKeyFile);
  const std::string cert = PathIn(dir, kNodeCertFile);
  const std::string ca = PathIn(dir, kCaCertFile);
  if (!Exists(Tmp(key))) return;
  absl::StatusOr<std::string> new_key = api::ReadFileToString(Tmp(key));
  absl::StatusOr<std::string> new_cert =
      api::ReadFileToString(Exists(Tmp(cert)) ? Tmp(cert) : cert);
  if (!new_key.ok() || !new_cert.ok() ||
      !security::CheckKeyMatchesCertificate(*new_key, *new_cert).ok()) {
    return;  // a store that crashed while writing: the old files stand
  }
  for (const std::string& path : {ca, cert, key}) {
    if (Exists(Tmp(path))) (void)Rename(Tmp(path), path);
  }
  (void)FsyncDir(dir);
  LogWarning("completed a credential update that was interrupted", {{"dir", dir}});
}

}  // namespace

absl::Status CheckNodeCredentials(const NodeCredentials& credentials, absl::string_view node_name,
                                  absl::Time now) {
  absl::StatusOr<security::CertificateInfo> info =
      security::ParseCertificatePem(credentials.cert_pem);
  if (!info.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(kNodeCertFile, ": ", info.status().message()));
  }
  if (info->common_name != node_name) {
    return absl::FailedPreconditionError(absl::StrCat(
        kNodeCertFile, " is for node \"", info->common_name, "\", not \"", node_name, "\""));
  }
  if (absl::Status s =
          security::CheckKeyMatchesCertificate(credentials.key_pem, credentials.cert_pem);
      !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(kNodeKeyFile, " is not the key of ", kNodeCertFile, ": ", s.message()));
  }
  if (absl::Status s = security::VerifyCertificate(credentials.cert_pem, credentials.ca_pem, now);
      !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(kNodeCertFile, " is not valid under ", kCaCertFile, ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<NodeCredentials> ReadNodeCredentials(const std::string& dir) {
  FinishInterruptedStore(dir);
  NodeCredentials credentials;
  for (auto [name, out] : {std::pair{kNodeKeyFile, &credentials.key_pem},
                           std::pair{kNodeCertFile, &credentials.cert_pem},
                           std::pair{kCaCertFile, &credentials.ca_pem}}) {
    absl::StatusOr<std::string> text = api::ReadFileToString(PathIn(dir, name));
    if (!text.ok()) return text.status();
    *out = *std::move(text);
  }
  return credentials;
}

absl::Status StoreNodeCredentials(const std::string& dir, const NodeCredentials& credentials) {
  if (absl::Status s = EnsurePrivateDir(dir); !s.ok()) return s;
  const std::string key = PathIn(dir, kNodeKeyFile);
  const std::string cert = PathIn(dir, kNodeCertFile);
  const std::string ca = PathIn(dir, kCaCertFile);
  if (absl::Status s = WriteSynced(Tmp(ca), credentials.ca_pem, kCertMode); !s.ok()) return s;
  if (absl::Status s = WriteSynced(Tmp(cert), credentials.cert_pem, kCertMode); !s.ok()) return s;
  if (absl::Status s = WriteSynced(Tmp(key), credentials.key_pem, kKeyMode); !s.ok()) return s;
  // The key last: see FinishInterruptedStore.
  for (const std::string& path : {ca, cert, key}) {
    if (absl::Status s = Rename(Tmp(path), path); !s.ok()) return s;
  }
  return FsyncDir(dir);
}

absl::Time RenewalTime(const security::CertificateInfo& certificate) {
  return certificate.not_before + (certificate.not_after - certificate.not_before) * 2 / 3;
}

}  // namespace ferry::agent
