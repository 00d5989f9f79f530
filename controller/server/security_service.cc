#include "controller/server/security_service.h"

#include "absl/strings/str_cat.h"
#include "api/lib/grpc_status.h"
#include "api/lib/timestamps.h"
#include "api/lib/validation.h"
#include "api/security/join_token.h"
#include "api/security/pki.h"
#include "controller/security/authorizer.h"

namespace ferry::controller {
namespace {

// A P-256 CSR is under 1 KiB; an RSA-4096 one under 4 KiB.
constexpr size_t kMaxCsrBytes = 16 << 10;

absl::Status CheckCsrSize(const std::string& csr) {
  if (csr.empty()) return absl::InvalidArgumentError("csrPem: required");
  if (csr.size() > kMaxCsrBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("csrPem: ", csr.size(), " bytes; at most ", kMaxCsrBytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> Ttl(int64_t seconds, absl::Duration fallback, absl::Duration max,
                                   absl::string_view field) {
  if (seconds < 0) return absl::InvalidArgumentError(absl::StrCat(field, ": must not be negative"));
  if (seconds == 0) return fallback;
  absl::Duration ttl = absl::Seconds(seconds);
  if (ttl > max) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", absl::FormatDuration(ttl),
                                                   " is longer than the maximum ",
                                                   absl::FormatDuration(max)));
  }
  return ttl;
}

}  // namespace

SecurityServiceImpl::SecurityServiceImpl(const ControllerPki* pki, CredentialStore* credentials,
                                         const PrincipalResolver* resolver, Options options)
    : pki_(pki), credentials_(credentials), resolver_(resolver), options_(std::move(options)) {}

void SecurityServiceImpl::Audit(const Principal& who, absl::string_view verb,
                                absl::string_view kind, absl::string_view name,
                                const absl::Status& status, absl::string_view outcome) {
  if (options_.audit == nullptr) return;
  AuditEntry entry;
  entry.time = options_.clock();
  entry.user = who.name;
  entry.role = std::string(RoleName(who.role));
  entry.source = who.source;
  entry.verb = std::string(verb);
  entry.kind = std::string(kind);
  entry.name = std::string(name);
  const bool denied = absl::IsPermissionDenied(status) || absl::IsUnauthenticated(status);
  entry.allowed = !denied;
  entry.outcome = status.ok() ? std::string(outcome) : denied ? "denied" : "error";
  entry.reason = std::string(status.message());
  options_.audit->Record(entry);
}

absl::Status SecurityServiceImpl::Issue(const std::string& csr_pem, const std::string& name,
                                        const std::string& role, absl::Duration ttl,
                                        const std::string& issued_by,
                                        ferry::v1::CertificateResponse* response) {
  absl::StatusOr<std::string> cert = pki_->SignClient(csr_pem, name, role, ttl);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<security::CertificateInfo> info = security::ParseCertificatePem(*cert);
  if (!info.ok()) return info.status();
  ferry::v1::CertificateRecord record;
  record.set_serial(info->serial);
  record.set_subject(name);
  record.set_role(role);
  *record.mutable_not_after() = api::ToTimestamp(info->not_after);
  *record.mutable_issued() = api::ToTimestamp(options_.clock());
  record.set_issued_by(issued_by);
  if (absl::Status s = credentials_->RecordCertificate(record); !s.ok()) return s;
  response->set_certificate_pem(*std::move(cert));
  response->set_ca_pem(pki_->ca_pem());
  return absl::OkStatus();
}

grpc::Status SecurityServiceImpl::Join(grpc::ServerContext* context,
                                       const ferry::v1::JoinRequest* request,
                                       ferry::v1::CertificateResponse* response) {
  Principal caller = resolver_->Resolve(*context);
  absl::Status status = [&]() -> absl::Status {
    if (absl::Status s = api::ValidateName(request->node_name()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("nodeName: ", s.message()));
    }
    if (absl::Status s = CheckCsrSize(request->csr_pem()); !s.ok()) return s;
    if (absl::StatusOr<security::CsrInfo> csr = security::ParseCsrPem(request->csr_pem());
        !csr.ok()) {
      return csr.status();
    }
    absl::StatusOr<security::JoinToken> token = security::ParseJoinToken(request->token());
    if (!token.ok()) return absl::UnauthenticatedError(token.status().message());
    if (token->ca_pin != pki_->ca_pin()) {
      return absl::UnauthenticatedError(
          "join token: its CA hash is not this controller's CA; was it created by another "
          "controller?");
    }
    caller.name = absl::StrCat("token:", token->id);
    if (absl::Status s = credentials_->UseToken(*token, request->node_name()); !s.ok()) return s;
    return Issue(request->csr_pem(), request->node_name(), "node", options_.node_cert_ttl,
                 caller.name, response);
  }();
  Audit(caller, "join", "Node", request->node_name(), status, "issued");
  return api::ToGrpcStatus(status);
}

grpc::Status SecurityServiceImpl::Renew(grpc::ServerContext* context,
                                        const ferry::v1::RenewRequest* request,
                                        ferry::v1::CertificateResponse* response) {
  Principal caller = resolver_->Resolve(*context);
  absl::Status status = [&]() -> absl::Status {
    if (absl::Status s = Authorize(caller, Verb::kRenew, ""); !s.ok()) return s;
    if (caller.local) {
      return absl::FailedPreconditionError(
          "renew: the unix socket has no certificate to renew; use credentials create");
    }
    if (absl::Status s = CheckCsrSize(request->csr_pem()); !s.ok()) return s;
    const std::string role(RoleName(caller.role));
    absl::Duration ttl =
        caller.role == Role::kNode ? options_.node_cert_ttl : options_.default_credentials_ttl;
    return Issue(request->csr_pem(), caller.name, role, ttl,
                 absl::StrCat("renewal of ", caller.serial), response);
  }();
  Audit(caller, "renew", "Certificate", caller.name, status, "issued");
  return api::ToGrpcStatus(status);
}

grpc::Status SecurityServiceImpl::CreateJoinToken(grpc::ServerContext* context,
                                                  const ferry::v1::CreateJoinTokenRequest* request,
                                                  ferry::v1::CreateJoinTokenResponse* response) {
  Principal caller = resolver_->Resolve(*context);
  absl::Status status = [&]() -> absl::Status {
    if (absl::Status s = Authorize(caller, Verb::kCreateToken, "JoinToken"); !s.ok()) return s;
    if (absl::Status s = api::ValidateName(request->node_name()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--node: ", s.message()));
    }
    if (!pki_->can_sign()) {
      return absl::FailedPreconditionError(
          "this controller holds no CA key (own PKI without --ca-key), so it cannot sign a "
          "joining node's certificate");
    }
    absl::StatusOr<absl::Duration> ttl =
        Ttl(request->ttl_seconds(), options_.default_token_ttl, options_.max_token_ttl, "--ttl");
    if (!ttl.ok()) return ttl.status();
    absl::StatusOr<security::JoinToken> token =
        credentials_->CreateToken(request->node_name(), *ttl, caller.name, pki_->ca_pin());
    if (!token.ok()) return token.status();
    response->set_token(token->ToString());
    *response->mutable_expires() = api::ToTimestamp(options_.clock() + *ttl);
    return absl::OkStatus();
  }();
  Audit(caller, "create-token", "JoinToken", request->node_name(), status, "created");
  return api::ToGrpcStatus(status);
}

grpc::Status SecurityServiceImpl::CreateCredentials(
    grpc::ServerContext* context, const ferry::v1::CreateCredentialsRequest* request,
    ferry::v1::CertificateResponse* response) {
  Principal caller = resolver_->Resolve(*context);
  absl::Status status = [&]() -> absl::Status {
    if (absl::Status s = Authorize(caller, Verb::kCreateCredentials, "Certificate"); !s.ok()) {
      return s;
    }
    if (absl::Status s = api::ValidateName(request->name()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("name: ", s.message()));
    }
    Role role = ParseRole(request->role());
    if (role != Role::kViewer && role != Role::kEditor && role != Role::kAdmin) {
      return absl::InvalidArgumentError(
          absl::StrCat("--role: must be viewer, editor or admin, got \"", request->role(), "\""));
    }
    if (absl::Status s = CheckCsrSize(request->csr_pem()); !s.ok()) return s;
    absl::StatusOr<absl::Duration> ttl =
        Ttl(request->ttl_seconds(), options_.default_credentials_ttl, options_.max_credentials_ttl,
            "--ttl");
    if (!ttl.ok()) return ttl.status();
    return Issue(request->csr_pem(), request->name(), request->role(), *ttl, caller.name, response);
  }();
  Audit(caller, "create-credentials", "Certificate", request->name(), status, "issued");
  return api::ToGrpcStatus(status);
}

grpc::Status SecurityServiceImpl::Revoke(grpc::ServerContext* context,
                                         const ferry::v1::RevokeRequest* request,
                                         ferry::v1::RevokeResponse* response) {
  Principal caller = resolver_->Resolve(*context);
  absl::Status status = [&]() -> absl::Status {
    if (absl::Status s = Authorize(caller, Verb::kRevoke, "Certificate"); !s.ok()) return s;
    if (request->name().empty()) return absl::InvalidArgumentError("name: required");
    if (!request->role().empty() && ParseRole(request->role()) == Role::kNone) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--role: must be node, viewer, editor or admin, got \"", request->role(), "\""));
    }
    absl::StatusOr<int> revoked = credentials_->Revoke(request->name(), request->role());
    if (!revoked.ok()) return revoked.status();
    response->set_revoked(*revoked);
    return absl::OkStatus();
  }();
  Audit(caller, "revoke", "Certificate", request->name(), status, "revoked");
  return api::ToGrpcStatus(status);
}

}  // namespace ferry::controller
