#ifndef FERRY_CONTROLLER_SERVER_SECURITY_SERVICE_H_
#define FERRY_CONTROLLER_SERVER_SECURITY_SERVICE_H_

// ferry.v1.SecurityService: join tokens, node certificates and people's
// credentials. A thin translation: who may call is decided by the
// authorizer, tokens and certificate records live in the CredentialStore,
// signing in ControllerPki. Every call that issues or revokes anything, and
// every refusal, goes to the audit log.

#include <grpcpp/grpcpp.h>

#include <functional>

#include "absl/time/time.h"
#include "controller/security/audit_log.h"
#include "controller/security/controller_pki.h"
#include "controller/security/credential_store.h"
#include "controller/security/principal_resolver.h"
#include "ferry/v1/security.grpc.pb.h"

namespace ferry::controller {

class SecurityServiceImpl final : public ferry::v1::SecurityService::Service {
 public:
  struct Options {
    absl::Duration node_cert_ttl = absl::Hours(24 * 30);
    absl::Duration default_token_ttl = absl::Hours(1);
    absl::Duration max_token_ttl = absl::Hours(24 * 7);
    absl::Duration default_credentials_ttl = absl::Hours(24 * 90);
    absl::Duration max_credentials_ttl = absl::Hours(24 * 365);
    AuditSink* audit = nullptr;
    std::function<absl::Time()> clock = [] { return absl::Now(); };
  };

  // All pointers must outlive the service.
  SecurityServiceImpl(const ControllerPki* pki, CredentialStore* credentials,
                      const PrincipalResolver* resolver, Options options);

  grpc::Status Join(grpc::ServerContext* context, const ferry::v1::JoinRequest* request,
                    ferry::v1::CertificateResponse* response) override;
  grpc::Status Renew(grpc::ServerContext* context, const ferry::v1::RenewRequest* request,
                     ferry::v1::CertificateResponse* response) override;
  grpc::Status CreateJoinToken(grpc::ServerContext* context,
                               const ferry::v1::CreateJoinTokenRequest* request,
                               ferry::v1::CreateJoinTokenResponse* response) override;
  grpc::Status CreateCredentials(grpc::ServerContext* context,
                                 const ferry::v1::CreateCredentialsRequest* request,
                                 ferry::v1::CertificateResponse* response) override;
  grpc::Status Revoke(grpc::ServerContext* context, const ferry::v1::RevokeRequest* request,
                      ferry::v1::RevokeResponse* response) override;

 private:
  // Signs and records a certificate; fills `response`.
  absl::Status Issue(const std::string& csr_pem, const std::string& name, const std::string& role,
                     absl::Duration ttl, const std::string& issued_by,
                     ferry::v1::CertificateResponse* response);
  void Audit(const Principal& who, absl::string_view verb, absl::string_view kind,
             absl::string_view name, const absl::Status& status, absl::string_view outcome);

  const ControllerPki* const pki_;
  CredentialStore* const credentials_;
  const PrincipalResolver* const resolver_;
  const Options options_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_SECURITY_SERVICE_H_
