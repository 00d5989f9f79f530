#include "controller/server/node_identity.h"

#include "absl/status/status.h"
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

}  // namespace ferry::controller
