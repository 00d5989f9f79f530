#ifndef FERRY_TESTS_UNIT_CONTROLLER_HEADER_NODE_AUTHENTICATOR_H_
#define FERRY_TESTS_UNIT_CONTROLLER_HEADER_NODE_AUTHENTICATOR_H_

// Tests of the stream logic run over in-process insecure channels: this
// authenticator takes the node from the x-ferry-node header, as an admin
// impersonating a node does in the product.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "controller/server/node_identity.h"

namespace ferry::controller {

class HeaderNodeAuthenticator : public NodeAuthenticator {
 public:
  absl::StatusOr<std::string> Identify(grpc::CallbackServerContext* context) override {
    Principal admin;
    admin.name = "uid:0";
    admin.role = Role::kAdmin;
    const auto& metadata = context->client_metadata();
    auto it = metadata.find(kImpersonateNodeKey);
    std::string header =
        it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
    return CertificateNodeAuthenticator::NodeFor(admin, header);
  }
};

inline std::unique_ptr<NodeAuthenticator> TestNodeAuthenticator() {
  return std::make_unique<HeaderNodeAuthenticator>();
}

}  // namespace ferry::controller

#endif  // FERRY_TESTS_UNIT_CONTROLLER_HEADER_NODE_AUTHENTICATOR_H_
