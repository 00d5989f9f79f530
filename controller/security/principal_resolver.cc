#include "controller/security/principal_resolver.h"

#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>

#include "absl/strings/str_cat.h"
#include "api/security/pki.h"

namespace ferry::controller {
namespace {

constexpr char kPemCertProperty[] = "x509_pem_cert";

}  // namespace

Principal PrincipalResolver::Resolve(const grpc::ServerContextBase& context) const {
  std::string source = context.peer();
  if (options_.unix_peer_uid) {
    if (std::optional<uid_t> uid = options_.unix_peer_uid(source)) {
      return FromUid(*uid, "unix");
    }
  }
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return FromCertificate("", source);
  std::vector<grpc::string_ref> pems = auth->FindPropertyValues(kPemCertProperty);
  if (pems.empty()) return FromCertificate("", source);
  return FromCertificate(absl::string_view(pems.front().data(), pems.front().size()),
                         std::move(source));
}

Principal PrincipalResolver::FromCertificate(absl::string_view cert_pem, std::string source) const {
  Principal p;
  p.source = std::move(source);
  if (cert_pem.empty()) {
    p.name = "anonymous";
    p.unauthenticated_reason = "no client certificate";
    return p;
  }
  absl::StatusOr<security::CertificateInfo> info = security::ParseCertificatePem(cert_pem);
  if (!info.ok()) {
    p.name = "anonymous";
    p.unauthenticated_reason =
        absl::StrCat("unreadable client certificate: ", info.status().message());
    return p;
  }
  p.name = info->common_name;
  p.serial = info->serial;
  if (options_.is_revoked && options_.is_revoked(info->serial)) {
    p.unauthenticated_reason =
        absl::StrCat("certificate ", info->serial, " of \"", info->common_name, "\" is revoked");
    return p;
  }
  p.role = ParseRole(info->role);
  if (p.role == Role::kNone) {
    p.unauthenticated_reason = absl::StrCat("certificate of \"", info->common_name,
                                            "\" names no Ferry role (O=ferry:<role>)");
  }
  return p;
}

Principal PrincipalResolver::FromUid(uid_t uid, std::string source) const {
  Principal p;
  p.name = absl::StrCat("uid:", uid);
  p.source = std::move(source);
  p.local = true;
  p.role = (uid == 0 || uid == options_.socket_owner) ? Role::kAdmin : Role::kViewer;
  return p;
}

}  // namespace ferry::controller
