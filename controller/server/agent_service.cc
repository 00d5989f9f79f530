#include "controller/server/agent_service.h"

#include <utility>

#include "api/lib/grpc_status.h"
#include "api/lib/log.h"
#include "controller/server/agent_session.h"

namespace ferry::controller {
namespace {

// Ends an unauthenticated stream without reading from it.
class RejectedStream
    : public grpc::ServerBidiReactor<ferry::v1::AgentMessage, ferry::v1::ControllerMessage> {
 public:
  explicit RejectedStream(grpc::Status status) { Finish(std::move(status)); }
  // A follower's refusal, with where the leader is.
  RejectedStream(grpc::CallbackServerContext* context, grpc::Status status,
                 const std::string& leader) {
    // Always set, empty while no leader is known: it tells the agent a
    // follower answered (the control plane is up; keep the backoff short).
    context->AddTrailingMetadata(AgentServiceImpl::kLeaderMetadata, leader);
    Finish(std::move(status));
  }
  void OnDone() override { delete this; }
};

}  // namespace

AgentServiceImpl::AgentServiceImpl(SessionRegistry* registry,
                                   std::unique_ptr<NodeAuthenticator> authenticator)
    : AgentServiceImpl(registry, Options(), std::move(authenticator)) {}

AgentServiceImpl::AgentServiceImpl(SessionRegistry* registry, Options options,
                                   std::unique_ptr<NodeAuthenticator> authenticator)
    : registry_(registry),
      authenticator_(std::move(authenticator)),
      plans_(options.plans),
      leading_(std::move(options.leading)),
      leader_address_(std::move(options.leader_address)),
      own_metrics_(options.metrics == nullptr ? std::make_unique<ProtectionMetrics>(nullptr)
                                              : nullptr),
      metrics_(options.metrics != nullptr ? options.metrics : own_metrics_.get()),
      report_limiter_(options.reports) {}

grpc::ServerBidiReactor<ferry::v1::AgentMessage, ferry::v1::ControllerMessage>*
AgentServiceImpl::Sync(grpc::CallbackServerContext* context) {
  absl::StatusOr<std::string> identity = authenticator_->Identify(context);
  if (!identity.ok()) {
    LogWarning("rejected agent stream",
               {{"peer", context->peer()}, {"error", identity.status().ToString()}});
    return new RejectedStream(api::ToGrpcStatus(identity.status()));
  }
  if (leading_ && !leading_()) {
    // Authenticated first: the leader's address is told only to nodes.
    const std::string leader = leader_address_ ? leader_address_() : "";
    return new RejectedStream(
        context,
        grpc::Status(grpc::StatusCode::UNAVAILABLE,
                     leader.empty() ? "this ferry-controller replica is a follower and no "
                                      "leader is known yet; try again"
                                    : "this ferry-controller replica is a follower; the leader "
                                      "serves agents at " +
                                          leader),
        leader);
  }
  return new AgentSession(registry_, *std::move(identity),
                          AgentSession::Limits{&report_limiter_, &timer_, metrics_}, plans_);
}

}  // namespace ferry::controller
