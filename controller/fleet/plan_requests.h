#ifndef FERRY_CONTROLLER_FLEET_PLAN_REQUESTS_H_
#define FERRY_CONTROLLER_FLEET_PLAN_REQUESTS_H_

// Asks connected agents what a config would change in their kernels
// (ResourceService.Diff) and routes each answer back to the call waiting
// for it, by nonce. Agent streams attach to it once their Hello is taken
// and detach when they end; a caller asks many nodes at once and waits,
// bounded, for all of them. Nothing here is applied or pushed: an agent
// answers from its kernel as it is. Knows nothing about gRPC.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// One agent stream, as plan requests reach it.
class PlanSink {
 public:
  virtual ~PlanSink() = default;
  // Queues `message` (a ControllerMessage.plan) for the agent, never
  // dropping or replacing it for a push. Must not block: called with
  // PlanRequests' lock held. False if the stream is ending or holds too
  // many already.
  virtual bool SendPlan(ferry::v1::ControllerMessage message) = 0;
};

class PlanRequests {
 public:
  // Requests one node may have unanswered, across all callers.
  static constexpr int kMaxOutstandingPerNode = 16;

  // The node's agent stream, once its Hello was taken. A newer stream of
  // the same node is asked instead of an older one still attached.
  void Attach(const std::string& node, PlanSink* sink);
  // The stream ended: after this returns `sink` is never used again, and
  // the requests it did not answer fail.
  void Detach(const std::string& node, PlanSink* sink);
  // An agent's answer; one for a nonce this node was not asked (an
  // abandoned request, another node's nonce) is ignored. False then.
  bool Answer(const std::string& node, const ferry::v1::PlanResult& result);

  // Sends each node its config and waits until every one has answered,
  // `deadline` passes or `cancelled` says so (polled). Per node: the
  // agent's lines, or why they are unknown: UNAVAILABLE (not connected, or
  // disconnected before answering), RESOURCE_EXHAUSTED (too many diffs in
  // flight), DEADLINE_EXCEEDED, or the agent's error (UNKNOWN). Unanswered
  // requests are forgotten on return.
  using Answers = std::map<std::string, absl::StatusOr<std::vector<std::string>>>;
  Answers Ask(const std::map<std::string, ferry::v1::NodeConfig>& configs, absl::Time deadline,
              const std::function<bool()>& cancelled = nullptr);

 private:
  // One Ask's answers so far.
  struct Call {
    Answers answers;
    size_t waiting = 0;
  };
  struct Pending {
    Call* call;
    std::string node;
    PlanSink* sink;
  };

  // Records the answer (or failure) of `nonce` and forgets it.
  void ResolveLocked(std::map<std::string, Pending>::iterator it,
                     absl::StatusOr<std::vector<std::string>> answer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  // Per node, the attached streams, newest last.
  std::map<std::string, std::vector<PlanSink*>> sinks_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Pending> pending_ ABSL_GUARDED_BY(mu_);  // by nonce
  std::map<std::string, int> outstanding_ ABSL_GUARDED_BY(mu_);  // by node
  uint64_t next_nonce_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_PLAN_REQUESTS_H_
