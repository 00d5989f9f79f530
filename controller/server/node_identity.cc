#include "controller/server/node_identity.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ferry::controller {

absl::StatusOr<std::string> MetadataNodeAuthenticator::Identify(
    grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  auto it = metadata.find(kNodeMetadataKey);
  if (it == metadata.end() || it->second.empty()) {
    return absl::UnauthenticatedError(absl::StrCat("missing call metadata ", kNodeMetadataKey,
                                                   ": the agent must send its node name"));
  }
  return std::string(it->second.data(), it->second.size());
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
