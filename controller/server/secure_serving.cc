#include "controller/server/secure_serving.h"

#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "api/lib/log.h"
#include "api/lib/private_files.h"

namespace ferry::controller {
namespace {

constexpr uint32_t kSshPort = 22;

// "10.0.0.1:7443" -> "10.0.0.1"; "[::1]:7443" -> "[::1]".
std::string HostOf(const std::string& uri) {
  size_t colon = uri.rfind(':');
  return colon == std::string::npos ? uri : uri.substr(0, colon);
}

std::optional<uint32_t> PortOf(const std::string& uri) {
  size_t colon = uri.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(uri.substr(colon + 1), &port) || port == 0) {
    return std::nullopt;
  }
  return port;
}

}  // namespace

absl::StatusOr<std::vector<uint32_t>> ParsePortList(absl::string_view text,
                                                    absl::string_view flag) {
  std::vector<uint32_t> ports;
  for (absl::string_view entry : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    uint32_t port = 0;
    if (!absl::SimpleAtoi(entry, &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": \"", entry, "\" is not a port from 1 to 65535"));
    }
    ports.push_back(port);
  }
  return ports;
}

absl::StatusOr<std::unique_ptr<SecureServing>> SecureServing::Create(const SecurityConfig& config,
                                                                     Store* store) {
  std::unique_ptr<SecureServing> s(new SecureServing());
  s->config_ = config;
  std::vector<std::string> hosts;
  bool any_tcp = false;
  for (const ListenAddress& a : config.listen) {
    if (!a.unix_path.empty()) continue;
    any_tcp = true;
    hosts.push_back(HostOf(a.grpc_uri));
  }
  // The dashboard and /metrics are served with the same certificate.
  if (any_tcp && !config.metrics_listen.empty()) hosts.push_back(HostOf(config.metrics_listen));
  PkiOptions pki_options;
  pki_options.data_dir = config.data_dir;
  pki_options.sans = ServingSans(hosts, config.tls_sans);
  pki_options.tls_cert_file = config.tls_cert;
  pki_options.tls_key_file = config.tls_key;
  pki_options.client_ca_file = config.client_ca;
  pki_options.ca_key_file = config.ca_key;
  absl::StatusOr<std::unique_ptr<ControllerPki>> pki = ControllerPki::LoadOrCreate(pki_options);
  if (!pki.ok()) return pki.status();
  s->pki_ = *std::move(pki);
  if (any_tcp) LogInfo("TLS", {{"ca_pin", s->pki_->ca_pin()}});

  absl::StatusOr<std::unique_ptr<CredentialStore>> credentials = CredentialStore::Open(store);
  if (!credentials.ok()) return credentials.status();
  s->credentials_ = *std::move(credentials);

  PrincipalResolver::Options resolver;
  resolver.unix_peer_uid = &UnixListener::PeerUid;
  resolver.socket_owner = ::geteuid();
  resolver.is_revoked = [creds = s->credentials_.get()](const std::string& serial) {
    return creds->IsRevoked(serial);
  };
  s->resolver_ = std::make_unique<PrincipalResolver>(std::move(resolver));

  if (!config.audit_log.empty()) {
    FileAuditLog::Options audit;
    audit.path = config.audit_log;
    audit.max_bytes = config.audit_log_max_bytes;
    audit.max_backups = config.audit_log_backups;
    absl::StatusOr<std::unique_ptr<FileAuditLog>> log = FileAuditLog::Open(audit);
    if (!log.ok()) return log.status();
    s->audit_ = *std::move(log);
  }

  AdmissionPolicy defaults;
  if (config.reserved_ports.empty()) {
    defaults.reserved_ports = {kSshPort};
    for (const ListenAddress& a : config.listen) {
      if (!a.unix_path.empty()) continue;
      if (std::optional<uint32_t> port = PortOf(a.grpc_uri)) defaults.reserved_ports.insert(*port);
    }
    if (std::optional<uint32_t> port = PortOf(config.metrics_listen)) {
      defaults.reserved_ports.insert(*port);
    }
  } else {
    defaults.reserved_ports = {config.reserved_ports.begin(), config.reserved_ports.end()};
  }
  AdmissionPolicy policy = defaults;
  if (!config.admission_config.empty()) {
    absl::StatusOr<AdmissionPolicy> loaded = LoadAdmissionPolicy(config.admission_config, defaults);
    if (!loaded.ok()) return loaded.status();
    policy = *std::move(loaded);
  }
  if (absl::Status valid = ValidateAdmissionPolicy(policy); !valid.ok()) return valid;
  s->admission_ = std::make_unique<Admission>(std::move(policy));
  return s;
}

SecureServing::~SecureServing() { StopUnix(); }

absl::Status SecureServing::AddListeners(grpc::ServerBuilder* builder, std::vector<int>* ports) {
  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  // Requested, not required, at the handshake: a joining agent has no
  // certificate yet. Every call but Join then needs one (the authorizer).
  tls.pem_root_certs = pki_->ca_pem();
  tls.pem_key_cert_pairs.push_back({pki_->server_key_pem(), pki_->server_chain_pem()});
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::SslServerCredentials(tls);
  ports->assign(config_.listen.size(), 0);
  for (size_t i = 0; i < config_.listen.size(); ++i) {
    const ListenAddress& a = config_.listen[i];
    if (a.unix_path.empty()) {
      builder->AddListeningPort(a.grpc_uri, credentials, &(*ports)[i]);
      continue;
    }
    absl::StatusOr<std::unique_ptr<UnixListener>> listener = UnixListener::Open(a.unix_path);
    if (!listener.ok()) return listener.status();
    unix_.push_back(*std::move(listener));
  }
  return absl::OkStatus();
}

void SecureServing::StartUnix(grpc::Server* server) {
  for (auto& listener : unix_) listener->Start(server);
}

void SecureServing::StopUnix() {
  for (auto& listener : unix_) listener->Stop();
}

}  // namespace ferry::controller
