#ifndef FERRY_CONTROLLER_SERVER_AGENT_SESSION_H_
#define FERRY_CONTROLLER_SERVER_AGENT_SESSION_H_

// One agent's Sync stream: checks its Hello against the connection's
// identity, forwards ACKs, address updates and drift reports to the
// SessionRegistry and plan answers to PlanRequests, and writes pushes and
// plan requests. Only stream handling lives here; what to
// push is the registry's job, and which reports to hold back the
// ReportThrottle's. Reactions never block and never call the registry with
// mu_ held (the registry calls Push with its own lock held).

#include <grpcpp/grpcpp.h>

#include <deque>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "controller/fleet/plan_requests.h"
#include "controller/fleet/session_registry.h"
#include "controller/protection/protection_metrics.h"
#include "controller/protection/rate_limiter.h"
#include "controller/protection/report_throttle.h"
#include "controller/protection/timer_thread.h"
#include "ferry/v1/ferry.grpc.pb.h"

namespace ferry::controller {

class AgentSession
    : public grpc::ServerBidiReactor<ferry::v1::AgentMessage, ferry::v1::ControllerMessage>,
      public PushSink,
      public PlanSink,
      private TimerThread::Target {
 public:
  // What limits the agent's reports. All null: no limit. Each must outlive
  // the session.
  struct Limits {
    RateLimiter* reports = nullptr;  // AddressUpdates and DriftReports, by node
    TimerThread* timer = nullptr;    // delivers held reports when allowed
    ProtectionMetrics* metrics = nullptr;
  };

  // Plan requests (ResourceService.Diff) one stream holds unsent.
  static constexpr size_t kMaxQueuedPlans = PlanRequests::kMaxOutstandingPerNode;

  // `identity` is the node the connection authenticated as. Starts reading
  // at once; deletes itself when the stream is done. Once its Hello is
  // taken the stream is attached to `plans` (none if null).
  AgentSession(SessionRegistry* registry, std::string identity, Limits limits,
               PlanRequests* plans = nullptr);

  // PushSink. Coalesces: every message is a push (often carried encoded, as
  // an unknown field), and one still waiting is replaced, since only the
  // latest config matters. So at most one waits behind the write in flight.
  void Push(ferry::v1::ControllerMessage message) override;
  void Close(const absl::Status& status) override;
  // PlanSink. Queued apart from pushes, never coalesced with them, and
  // written before a waiting push (they are small); at most
  // kMaxQueuedPlans.
  bool SendPlan(ferry::v1::ControllerMessage message) override;

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // Returns the error to end the stream with, if the message is not allowed.
  absl::Status Handle(const ferry::v1::AgentMessage& message);
  void FinishOnce(const absl::Status& status);
  void StartNextWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Passes a report to the registry now, or holds it until the node's rate
  // limit allows, keeping only the latest state.
  void OfferReport(const ferry::v1::AgentMessage& message);
  void DeliverAllowedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(report_mu_);
  // TimerThread::Target: a held report's turn came.
  void OnTimer() override;

  SessionRegistry* const registry_;
  const std::string identity_;
  const Limits limits_;
  PlanRequests* const plans_;
  // Touched only by read reactions and OnDone, which never overlap.
  ferry::v1::AgentMessage in_;
  SessionHandle* handle_ = nullptr;
  bool attached_ = false;  // to plans_

  absl::Mutex mu_;
  std::optional<ferry::v1::ControllerMessage> waiting_ ABSL_GUARDED_BY(mu_);
  std::deque<ferry::v1::ControllerMessage> plans_waiting_ ABSL_GUARDED_BY(mu_);
  ferry::v1::ControllerMessage writing_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  // Finish waits for the write in flight, whose buffer gRPC still reads.
  std::optional<grpc::Status> deferred_finish_ ABSL_GUARDED_BY(mu_);

  // Serializes report delivery from the read reactions and the timer, so a
  // held report never overtakes a newer one. Held while calling the registry.
  absl::Mutex report_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  ReportThrottle throttle_ ABSL_GUARDED_BY(report_mu_);
  bool warned_throttled_ ABSL_GUARDED_BY(report_mu_) = false;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_AGENT_SESSION_H_
