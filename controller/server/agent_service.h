#ifndef FERRY_CONTROLLER_SERVER_AGENT_SERVICE_H_
#define FERRY_CONTROLLER_SERVER_AGENT_SERVICE_H_

// AgentService.Sync: authenticates each stream and hands it to an
// AgentSession. Thin by design: the fleet logic lives in the registry.

#include <grpcpp/grpcpp.h>

#include <memory>

#include "controller/server/fleet_reconciler.h"
#include "controller/server/node_identity.h"
#include "ferry/v1/ferry.grpc.pb.h"

namespace ferry::controller {

class AgentServiceImpl : public ferry::v1::AgentService::CallbackService {
 public:
  // `registry` must outlive the server. Identity comes from the call
  // metadata unless another authenticator is given.
  explicit AgentServiceImpl(SessionRegistry* registry,
                            std::unique_ptr<NodeAuthenticator> authenticator =
                                std::make_unique<MetadataNodeAuthenticator>());

  grpc::ServerBidiReactor<ferry::v1::AgentMessage, ferry::v1::ControllerMessage>* Sync(
      grpc::CallbackServerContext* context) override;

 private:
  SessionRegistry* const registry_;
  const std::unique_ptr<NodeAuthenticator> authenticator_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_AGENT_SERVICE_H_
