#include "controller/cli/security_commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/security/pki.h"
#include "controller/cli/channel.h"
#include "controller/cli/client_config.h"
#include "controller/cli/table.h"

namespace ferry::cli {
namespace {

int64_t TtlSeconds(const Command& command) { return absl::ToInt64Seconds(command.ttl); }

// A file that holds a private key: written in full or not at all, mode 0600
// whatever the umask or an older file's mode. A temporary beside the target
// is renamed over it on Commit and removed otherwise.
class PrivateFile {
 public:
  static absl::StatusOr<std::unique_ptr<PrivateFile>> Create(const std::string& path) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("-o ", path, ": is a directory; give a file name"));
    }
    std::string temp = absl::StrCat(path, ".tmp-XXXXXX");
    const int fd = mkstemp(temp.data());
    if (fd < 0 || fchmod(fd, 0600) != 0) {
      const int error = errno;
      if (fd >= 0) {
        close(fd);
        unlink(temp.c_str());
      }
      const std::string dir = std::filesystem::path(path).parent_path().string();
      return absl::FailedPreconditionError(absl::StrCat("-o ", path, ": cannot create a file in ",
                                                        dir.empty() ? "." : dir, ": ",
                                                        std::strerror(error)));
    }
    return std::unique_ptr<PrivateFile>(new PrivateFile(path, std::move(temp), fd));
  }

  ~PrivateFile() {
    if (fd_ >= 0) close(fd_);
    if (!committed_) unlink(temp_.c_str());
  }

  absl::Status Commit(absl::string_view text) {
    for (size_t done = 0; done < text.size();) {
      const ssize_t n = write(fd_, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Failed("cannot write");
      done += static_cast<size_t>(n);
    }
    if (fsync(fd_) != 0) return Failed("cannot write");
    const int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0) return Failed("cannot write");
    if (rename(temp_.c_str(), path_.c_str()) != 0) return Failed("cannot replace");
    committed_ = true;
    return absl::OkStatus();
  }

 private:
  PrivateFile(std::string path, std::string temp, int fd)
      : path_(std::move(path)), temp_(std::move(temp)), fd_(fd) {}

  absl::Status Failed(absl::string_view what) const {
    return absl::FailedPreconditionError(
        absl::StrCat("-o ", path_, ": ", what, ": ", std::strerror(errno)));
  }

  std::string path_;
  std::string temp_;
  int fd_;
  bool committed_ = false;
};

int RunTokenCreate(const Command& command, SecurityClient& client, Io io) {
  ferry::v1::CreateJoinTokenRequest request;
  request.set_node_name(command.node_name);
  request.set_ttl_seconds(TtlSeconds(command));
  absl::StatusOr<ferry::v1::CreateJoinTokenResponse> response = client.CreateJoinToken(request);
  if (!response.ok()) return FailWith(io.err, response.status());
  io.out << response->token() << "\n" << std::flush;
  // Over the unix socket ferryctl does not know the address agents dial.
  const bool tcp = !IsUnixTarget(client.address());
  io.err << "join with: ferry-agent --node-name " << command.node_name << " --controller "
         << (tcp ? client.address() : "HOST:PORT") << " --join-token " << response->token()
         << " --state-dir " << kDefaultAgentStateDir << "\n";
  if (!tcp) io.err << "  (HOST:PORT: the controller's TCP --listen address)\n";
  io.err << "valid until " << FormatTimestamp(response->expires()) << ", for one join\n";
  return kExitOk;
}

// The server the new config names: --server after the command, else the
// TCP server ferryctl is talking to. Over a unix socket there is none.
absl::StatusOr<std::string> ConfigServer(const Command& command, const SecurityClient& client) {
  if (!command.credentials_server.empty()) return command.credentials_server;
  if (!IsUnixTarget(client.address())) return client.address();
  return absl::InvalidArgumentError(absl::StrCat(
      "credentials create needs --server HOST:PORT, the controller's TCP address to write into "
      "the config: ferryctl is talking to it over ",
      client.address(), ", which other machines cannot use"));
}

int RunCredentialsCreate(const Command& command, SecurityClient& client, Io io) {
  absl::StatusOr<std::string> server = ConfigServer(command, client);
  if (!server.ok()) {
    PrintError(io.err, server.status().message());
    return kExitUsage;
  }
  std::unique_ptr<PrivateFile> file;
  if (!command.output_file.empty()) {
    absl::StatusOr<std::unique_ptr<PrivateFile>> created = PrivateFile::Create(command.output_file);
    if (!created.ok()) return FailWith(io.err, created.status());
    file = *std::move(created);
  }
  absl::StatusOr<std::string> key = security::GenerateKeyPem();
  if (!key.ok()) return FailWith(io.err, key.status());
  absl::StatusOr<std::string> csr = security::MakeCsrPem(*key, command.subject);
  if (!csr.ok()) return FailWith(io.err, csr.status());

  ferry::v1::CreateCredentialsRequest request;
  request.set_name(command.subject);
  request.set_role(command.role);
  request.set_csr_pem(*csr);
  request.set_ttl_seconds(TtlSeconds(command));
  absl::StatusOr<ferry::v1::CertificateResponse> response = client.CreateCredentials(request);
  if (!response.ok()) return FailWith(io.err, response.status());

  // A config whose certificate is not for our key would fail at every
  // handshake; refuse it here, where the cause is known.
  absl::StatusOr<security::CertificateInfo> cert =
      security::ParseCertificatePem(response->certificate_pem());
  absl::Status matches =
      cert.ok() ? security::CheckKeyMatchesCertificate(*key, response->certificate_pem())
                : cert.status();
  if (!matches.ok() || response->ca_pem().empty()) {
    return FailWith(io.err, absl::InternalError(absl::StrCat(
                                "the controller's answer is not a certificate for the key "
                                "ferryctl sent",
                                matches.ok() ? " (no CA)" : absl::StrCat(": ", matches.message()),
                                "; no config written")));
  }
  ClientConfig config;
  config.server = *server;
  config.certificate_authority = response->ca_pem();
  config.client_certificate = response->certificate_pem();
  config.client_key = *key;
  const std::string text = EncodeClientConfig(config);
  const std::string summary =
      absl::StrCat("credentials for \"", cert->common_name, "\" (role ", cert->role,
                   ", valid until ", FormatUtc(cert->not_after), ", server ", *server, ")");
  if (file == nullptr) {
    io.out << text << std::flush;
    io.err << summary << "\n";
    return kExitOk;
  }
  if (absl::Status s = file->Commit(text); !s.ok()) return FailWith(io.err, s);
  io.err << summary << " written to " << command.output_file << "\n";
  return kExitOk;
}

int RunCredentialsRevoke(const Command& command, SecurityClient& client, Io io) {
  ferry::v1::RevokeRequest request;
  request.set_name(command.subject);
  request.set_role(command.role);
  absl::StatusOr<ferry::v1::RevokeResponse> response = client.Revoke(request);
  if (!response.ok()) return FailWith(io.err, response.status());
  io.out << "revoked " << response->revoked() << " certificate(s) of " << command.subject << "\n";
  return kExitOk;
}

}  // namespace

int RunSecurityCommand(const Command& command, SecurityClient& client, Io io) {
  switch (command.verb) {
    case Verb::kTokenCreate:
      return RunTokenCreate(command, client, io);
    case Verb::kCredentialsCreate:
      return RunCredentialsCreate(command, client, io);
    case Verb::kCredentialsRevoke:
      return RunCredentialsRevoke(command, client, io);
    default:
      PrintError(io.err, "not a token or credentials command");
      return kExitFailure;
  }
}

}  // namespace ferry::cli
