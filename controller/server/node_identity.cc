#include "controller/server/node_identity.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controller/security/principal.h"

namespace ferry::controller {

absl::StatusOr<std::string> CertificateNodeAuthenticator::NodeFor(const Principal& principal,
                                                                  absl::string_view header) {
  if (!principal.authenticated()) {
    return absl::UnauthenticatedError(
        absl::StrCat("agent stream refused: ",
                     principal.unauthenticated_reason.empty() ? "no client certificate"
                                                              : principal.unauthenticated_reason,
                     "; join with ferry-agent --join-token (see ferryctl token create)"));
  }
  if (principal.role == Role::kNode) return principal.name;
  if (principal.role == Role::kAdmin) {
    if (header.empty()) {
      return absl::UnauthenticatedError(absl::StrCat("agent stream from admin \"", principal.name,
                                                     "\": name the node in call metadata ",
                                                     kImpersonateNodeKey));
    }
    return std::string(header);
  }
  return absl::PermissionDeniedError(absl::StrCat("permission denied: user \"", principal.name,
                                                  "\" (", RoleName(principal.role),
                                                  ") may not sync as a node"));
}

absl::StatusOr<std::string> CertificateNodeAuthenticator::Identify(
    grpc::CallbackServerContext* context) {
  Principal principal = resolver_->Resolve(*context);
  std::string header;
  const auto& metadata = context->client_metadata();
  if (auto it = metadata.find(kImpersonateNodeKey); it != metadata.end()) {
    header.assign(it->second.data(), it->second.size());
  }
  return NodeFor(principal, header);
}

std::string ClientIdentity(absl::string_view peer) {
  if (!absl::StartsWith(peer, "ipv4:") && !absl::StartsWith(peer, "ipv6:")) {
    // "unix:...", "inproc" and the like: one local identity.
    size_t colon = peer.find(':');
    return std::string(peer.substr(0, colon));
  }
  size_t colon = peer.rfind(':');
  if (colon == absl::string_view::npos || colon < 5) return std::string(peer);
  absl::string_view host = peer.substr(0, colon);
  // "ipv6:[::1]:5000" (gRPC writes the brackets as %5B..%5D): the port
  // follows the closing bracket.
  if (absl::StartsWith(peer, "ipv6:") && !absl::EndsWith(host, "]") &&
      !absl::EndsWith(host, "%5D")) {
    return std::string(peer);
  }
  return std::string(host);
}

}  // namespace ferry::controller
