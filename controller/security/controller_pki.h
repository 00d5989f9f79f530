#ifndef FERRY_CONTROLLER_SECURITY_CONTROLLER_PKI_H_
#define FERRY_CONTROLLER_SECURITY_CONTROLLER_PKI_H_

// The controller's certificates: the CA that signs agents and people, and
// the serving certificate of every TCP listener.
//
// Zero-configuration (the default): on first start a CA and a serving
// certificate are created under DATA_DIR/pki (0700; keys 0600). Later starts
// reuse the CA and re-issue the serving certificate only when the wanted
// SANs are not all in it or it expires within 30 days.
//
// Own PKI: --tls-cert/--tls-key serve, --client-ca verifies clients (and is
// what agents pin, so the serving certificate must chain to it); with
// --ca-key the controller can also sign joins and credentials, without it
// those calls are refused.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/security/pki.h"

namespace ferry::controller {

struct PkiOptions {
  std::string data_dir;
  // IP addresses and DNS names the serving certificate must cover.
  std::vector<std::string> sans;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string client_ca_file;
  std::string ca_key_file;
};

class ControllerPki {
 public:
  static absl::StatusOr<std::unique_ptr<ControllerPki>> LoadOrCreate(const PkiOptions& options);

  // Leaf first, then the CA, so a joining agent can find the CA it pins in
  // the chain the server presents.
  const std::string& server_chain_pem() const { return server_chain_pem_; }
  const std::string& server_key_pem() const { return server_key_pem_; }
  const std::string& ca_pem() const { return ca_.cert_pem; }
  // Hex SHA-256 of the CA's SubjectPublicKeyInfo, carried in join tokens.
  const std::string& ca_pin() const { return ca_pin_; }
  bool can_sign() const { return !ca_.key_pem.empty(); }

  // A client certificate for `common_name` in `role`, from `csr_pem`.
  // FAILED_PRECONDITION when the CA key is not held; INVALID_ARGUMENT for a
  // bad CSR.
  absl::StatusOr<std::string> SignClient(const std::string& csr_pem, const std::string& common_name,
                                         const std::string& role, absl::Duration validity) const;

 private:
  ControllerPki() = default;
  absl::Status LoadOwn(const PkiOptions& options);
  absl::Status LoadOrCreateManaged(const PkiOptions& options);

  security::CertificateAuthority ca_;
  std::string ca_pin_;
  std::string server_chain_pem_;
  std::string server_key_pem_;
};

// SANs for the serving certificate: every --listen host (all local
// addresses for a wildcard host), localhost, 127.0.0.1, ::1, the host name
// and the extra names.
std::vector<std::string> ServingSans(const std::vector<std::string>& listen_hosts,
                                     const std::vector<std::string>& extra);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SECURITY_CONTROLLER_PKI_H_
