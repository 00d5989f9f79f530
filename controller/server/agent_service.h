#ifndef FERRY_CONTROLLER_SERVER_AGENT_SERVICE_H_
#define FERRY_CONTROLLER_SERVER_AGENT_SERVICE_H_

// AgentService.Sync: authenticates each stream and hands it to an
// AgentSession. Thin by design: the fleet logic lives in the registry. Owns
// what every session shares to protect the controller from a flooding agent:
// the per-node report rate limit and the timer that delivers held reports.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "controller/fleet/plan_requests.h"
#include "controller/fleet/session_registry.h"
#include "controller/protection/protection_metrics.h"
#include "controller/protection/rate_limiter.h"
#include "controller/protection/timer_thread.h"
#include "controller/server/node_identity.h"
#include "ferry/v1/ferry.grpc.pb.h"

namespace ferry::controller {

class AgentServiceImpl : public ferry::v1::AgentService::CallbackService {
 public:
  struct Options {
    // AddressUpdates and DriftReports per node. An agent sends one on each
    // address change and each drift check that finds news, so this is far
    // above normal use; beyond it only the latest report of each kind is
    // kept and delivered when the bucket allows.
    RateLimit reports{/*per_second=*/50, /*burst=*/200};
    // Where the protection counters go; a private one if null.
    ProtectionMetrics* metrics = nullptr;
    // Where each stream is attached once its Hello is taken, so that
    // ResourceService.Diff can ask its agent; none if null. Not owned.
    PlanRequests* plans = nullptr;
    // With replicas: whether this replica leads, and where the leader
    // serves agents ("" while no leader is known). Only the leader takes
    // streams; a follower ends each at once with UNAVAILABLE and the
    // leader's address in the trailing metadata kLeaderMetadata, which the
    // agent follows. Null: a single controller, always the leader.
    std::function<bool()> leading;
    std::function<std::string()> leader_address;
  };

  // Trailing metadata of a follower's refusal: the leader's host:port.
  static constexpr char kLeaderMetadata[] = "ferry-leader";

  // `registry` must outlive the server. `authenticator` decides which node
  // each stream speaks for (CertificateNodeAuthenticator in the product).
  AgentServiceImpl(SessionRegistry* registry, std::unique_ptr<NodeAuthenticator> authenticator);
  AgentServiceImpl(SessionRegistry* registry, Options options,
                   std::unique_ptr<NodeAuthenticator> authenticator);

  grpc::ServerBidiReactor<ferry::v1::AgentMessage, ferry::v1::ControllerMessage>* Sync(
      grpc::CallbackServerContext* context) override;

 private:
  SessionRegistry* const registry_;
  const std::unique_ptr<NodeAuthenticator> authenticator_;
  PlanRequests* const plans_;
  const std::function<bool()> leading_;
  const std::function<std::string()> leader_address_;
  std::unique_ptr<ProtectionMetrics> own_metrics_;
  ProtectionMetrics* const metrics_;
  RateLimiter report_limiter_;
  // Declared last: destroyed (joined) first, while what its targets use
  // still exists. Sessions are all done by then (the server is shut down
  // before the service is destroyed).
  TimerThread timer_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_AGENT_SERVICE_H_
