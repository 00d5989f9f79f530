#ifndef FERRY_CONTROLLER_SERVER_NODE_IDENTITY_H_
#define FERRY_CONTROLLER_SERVER_NODE_IDENTITY_H_

// Which node an agent stream speaks for. Identity belongs to the
// connection, never to what the agent says in its messages.

#include <grpcpp/server_context.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/security/principal_resolver.h"

namespace ferry::controller {

class NodeAuthenticator {
 public:
  virtual ~NodeAuthenticator() = default;
  // The node name; UNAUTHENTICATED or PERMISSION_DENIED saying why not.
  virtual absl::StatusOr<std::string> Identify(grpc::CallbackServerContext* context) = 0;
};

// Header an admin sets to act as a node (see CertificateNodeAuthenticator).
inline constexpr char kImpersonateNodeKey[] = "x-ferry-node";

// A node certificate (O=ferry:node) speaks for its CN and nothing else. An
// admin (root on the unix socket, or an admin certificate) may act as any
// node by naming it in the x-ferry-node header, as Kubernetes lets
// privileged users impersonate: an admin can already issue any node's join
// token, so this grants nothing new. Nobody else's header is read.
class CertificateNodeAuthenticator : public NodeAuthenticator {
 public:
  explicit CertificateNodeAuthenticator(const PrincipalResolver* resolver) : resolver_(resolver) {}
  absl::StatusOr<std::string> Identify(grpc::CallbackServerContext* context) override;

  // The decision itself, free of gRPC. `header` is the x-ferry-node value
  // (empty if absent).
  static absl::StatusOr<std::string> NodeFor(const Principal& principal, absl::string_view header);

 private:
  const PrincipalResolver* const resolver_;
};

// Who a ResourceService call comes from, for per-client rate limits when
// the caller is not authenticated: the peer's host ("ipv4:10.0.0.5",
// "ipv6:[::1]"); the port is dropped so that reconnecting does not earn a
// fresh bucket. Unix-socket clients share one identity.
std::string ClientIdentity(absl::string_view peer);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_NODE_IDENTITY_H_
