#ifndef FERRY_CONTROLLER_SERVER_NODE_IDENTITY_H_
#define FERRY_CONTROLLER_SERVER_NODE_IDENTITY_H_

// Which node a connection speaks for. Identity belongs to the connection,
// not to what the agent says in its messages, so a compromised agent cannot
// claim another node's config.

#include <grpcpp/server_context.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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

// Who a ResourceService call comes from, for per-client rate limits. Clients
// do not authenticate yet, so this is the peer's host: "ipv4:10.0.0.5",
// "ipv6:[::1]"; the port is dropped so that reconnecting (ferryctl opens a
// connection per run) does not earn a fresh bucket. Unix-socket clients share
// one identity. TODO(design): the mTLS client certificate's subject.
std::string ClientIdentity(absl::string_view peer);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_NODE_IDENTITY_H_
