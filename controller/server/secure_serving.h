#ifndef FERRY_CONTROLLER_SERVER_SECURE_SERVING_H_
#define FERRY_CONTROLLER_SERVER_SECURE_SERVING_H_

// Everything the controller's listeners need to be safe, assembled once
// from its flags: the PKI (TLS on every TCP listener, client certificates
// verified against Ferry's CA), the unix sockets with peer credentials,
// who each call is (PrincipalResolver), the credential records, the audit
// log and the admission policy.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/security/admission.h"
#include "controller/security/audit_log.h"
#include "controller/security/controller_pki.h"
#include "controller/security/credential_store.h"
#include "controller/security/principal_resolver.h"
#include "controller/server/listeners.h"
#include "controller/server/unix_listener.h"
#include "controller/store/store.h"

namespace ferry::controller {

struct SecurityConfig {
  std::string data_dir;
  std::vector<ListenAddress> listen;
  std::string metrics_listen;  // its port is reserved too
  std::vector<std::string> tls_sans;
  std::string tls_cert, tls_key, client_ca, ca_key;
  std::string audit_log;
  int64_t audit_log_max_bytes = 100 << 20;
  int audit_log_backups = 5;
  // Empty: 22 plus the controller's own TCP ports.
  std::vector<uint32_t> reserved_ports;
  std::string admission_config;
};

class SecureServing {
 public:
  static absl::StatusOr<std::unique_ptr<SecureServing>> Create(const SecurityConfig& config,
                                                               Store* store);
  ~SecureServing();

  // Adds every --listen address: TCP with TLS, unix through our own
  // listener (opened here, accepting after StartUnix). `ports` receives the
  // bound TCP ports (0 for unix).
  absl::Status AddListeners(grpc::ServerBuilder* builder, std::vector<int>* ports);
  void StartUnix(grpc::Server* server);
  // Stops accepting on the unix sockets and removes them if still ours.
  void StopUnix();

  const PrincipalResolver* resolver() const { return resolver_.get(); }
  AuditSink* audit() const { return audit_.get(); }
  const Admission* admission() const { return admission_.get(); }
  const ControllerPki* pki() const { return pki_.get(); }
  CredentialStore* credentials() const { return credentials_.get(); }

 private:
  SecureServing() = default;

  SecurityConfig config_;
  std::unique_ptr<ControllerPki> pki_;
  std::unique_ptr<CredentialStore> credentials_;
  std::unique_ptr<PrincipalResolver> resolver_;
  std::unique_ptr<FileAuditLog> audit_;
  std::unique_ptr<Admission> admission_;
  std::vector<std::unique_ptr<UnixListener>> unix_;
};

// "22,7443" -> {22, 7443}; INVALID_ARGUMENT naming the flag and entry.
absl::StatusOr<std::vector<uint32_t>> ParsePortList(absl::string_view text, absl::string_view flag);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_SECURE_SERVING_H_
