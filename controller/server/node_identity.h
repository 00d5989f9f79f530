#ifndef FERRY_CONTROLLER_SERVER_NODE_IDENTITY_H_
#define FERRY_CONTROLLER_SERVER_NODE_IDENTITY_H_

// Which node a connection speaks for. Identity belongs to the connection,
// not to what the agent says in its messages, so a compromised agent cannot
// claim another node's config.

#include <grpcpp/server_context.h>

#include <string>

#include "absl/status/statusor.h"

namespace ferry::controller {

class NodeAuthenticator {
 public:
  virtual ~NodeAuthenticator() = default;
  // The node name, or UNAUTHENTICATED saying what is missing.
  virtual absl::StatusOr<std::string> Identify(grpc::CallbackServerContext* context) = 0;
};

inline constexpr char kNodeMetadataKey[] = "x-ferry-node";

// Trusts the `x-ferry-node` call metadata. Stands in until the mTLS peer
// certificate provides the identity.
class MetadataNodeAuthenticator : public NodeAuthenticator {
 public:
  absl::StatusOr<std::string> Identify(grpc::CallbackServerContext* context) override;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_NODE_IDENTITY_H_
