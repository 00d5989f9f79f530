#include "controller/server/agent_session.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/grpc_status.h"
#include "api/lib/log.h"
#include "api/lib/validation.h"

namespace ferry::controller {

AgentSession::AgentSession(SessionRegistry* registry, std::string identity, Limits limits,
                           PlanRequests* plans)
    : registry_(registry),
      identity_(std::move(identity)),
      limits_(limits),
      plans_(plans),
      throttle_(limits.reports, identity_) {
  StartRead(&in_);
}

void AgentSession::Push(ferry::v1::ControllerMessage message) {
  absl::MutexLock l(&mu_);
  if (finishing_) return;
  waiting_ = std::move(message);  // a stale one still waiting is dropped
  if (!write_in_flight_) StartNextWriteLocked();
}

void AgentSession::Close(const absl::Status& status) { FinishOnce(status); }

bool AgentSession::SendPlan(ferry::v1::ControllerMessage message) {
  absl::MutexLock l(&mu_);
  if (finishing_ || plans_waiting_.size() >= kMaxQueuedPlans) return false;
  plans_waiting_.push_back(std::move(message));
  if (!write_in_flight_) StartNextWriteLocked();
  return true;
}

void AgentSession::StartNextWriteLocked() {
  if (finishing_) return;
  if (!plans_waiting_.empty()) {
    writing_ = std::move(plans_waiting_.front());
    plans_waiting_.pop_front();
  } else if (waiting_.has_value()) {
    writing_ = *std::move(waiting_);
    waiting_.reset();
  } else {
    return;
  }
  write_in_flight_ = true;
  StartWrite(&writing_);
}

void AgentSession::OnWriteDone(bool ok) {
  std::optional<grpc::Status> finish;
  {
    absl::MutexLock l(&mu_);
    write_in_flight_ = false;
    if (deferred_finish_) {
      finish = std::move(deferred_finish_);
      deferred_finish_.reset();
    } else if (!ok && !finishing_) {
      finishing_ = true;
      waiting_.reset();
      plans_waiting_.clear();
      finish = grpc::Status(grpc::StatusCode::UNAVAILABLE, "write to agent failed");
    } else {
      StartNextWriteLocked();
    }
  }
  if (finish) Finish(*std::move(finish));
}

// Finish runs outside the lock and last: once it is called, OnDone may
// delete this session on another thread.
void AgentSession::FinishOnce(const absl::Status& status) {
  grpc::Status g = api::ToGrpcStatus(status);
  {
    absl::MutexLock l(&mu_);
    if (finishing_) return;
    finishing_ = true;
    waiting_.reset();
    plans_waiting_.clear();
    if (write_in_flight_) {
      deferred_finish_ = std::move(g);
      return;
    }
  }
  Finish(std::move(g));
}

absl::Status AgentSession::Handle(const ferry::v1::AgentMessage& message) {
  if (handle_ == nullptr) {
    if (!message.has_hello()) {
      return absl::FailedPreconditionError("the first message on the stream must be hello");
    }
    if (absl::Status valid = api::ValidateHello(message.hello()); !valid.ok()) return valid;
    if (message.hello().node_name() != identity_) {
      return absl::PermissionDeniedError(
          absl::StrCat("hello.nodeName: \"", message.hello().node_name(),
                       "\" does not match the connection's identity \"", identity_, "\""));
    }
    // Attached first: Connect writes the Hello's push, and an agent that
    // has read it must be able to take a plan request.
    if (plans_ != nullptr) {
      plans_->Attach(identity_, this);
      attached_ = true;
    }
    handle_ = registry_->Connect(identity_, message.hello(), this);
    return absl::OkStatus();
  }
  switch (message.msg_case()) {
    case ferry::v1::AgentMessage::kHello:
      if (message.hello().node_name() != identity_) {
        return absl::PermissionDeniedError(absl::StrCat(
            "hello.nodeName: a stream cannot change its node from \"", identity_, "\""));
      }
      return absl::FailedPreconditionError("hello: sent twice on one stream");
    case ferry::v1::AgentMessage::kAck:
      registry_->OnAck(handle_, message.ack());
      return absl::OkStatus();
    case ferry::v1::AgentMessage::kAddresses:
      if (absl::Status valid =
              api::ValidateNodeAddresses(message.addresses().addresses(), "addresses.addresses");
          !valid.ok()) {
        return valid;
      }
      if (absl::Status valid = api::ValidateRouteSources(message.addresses().route_sources(),
                                                         "addresses.routeSources");
          !valid.ok()) {
        return valid;
      }
      OfferReport(message);
      return absl::OkStatus();
    case ferry::v1::AgentMessage::kDrift:
      OfferReport(message);
      return absl::OkStatus();
    case ferry::v1::AgentMessage::kDataPath:
      // Not coalesced as drift is: each report carries only what changed.
      registry_->OnDataPath(handle_, message.data_path());
      return absl::OkStatus();
    case ferry::v1::AgentMessage::kPlan:
      // An answer nobody waits for any more (the diff gave up) is dropped.
      if (plans_ != nullptr && !plans_->Answer(identity_, message.plan())) {
        LogDebug("plan answer for no waiting diff",
                 {{"node", identity_}, {"nonce", message.plan().nonce()}});
      }
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError("msg: empty agent message");
  }
}

void AgentSession::OfferReport(const ferry::v1::AgentMessage& message) {
  absl::MutexLock l(&report_mu_);
  if (throttle_.Hold(message)) {
    const char* kind = message.has_drift() ? "drift" : "addresses";
    if (limits_.metrics != nullptr) limits_.metrics->ReportCoalesced(kind);
    if (!warned_throttled_) {
      // Once per stream: the counter tells how many followed.
      warned_throttled_ = true;
      LogWarning("agent reports over the rate limit; keeping only the latest",
                 {{"node", identity_}, {"kind", kind}});
    }
  }
  DeliverAllowedLocked();
}

void AgentSession::DeliverAllowedLocked() {
  for (const ferry::v1::AgentMessage& report : throttle_.TakeAllowed()) {
    if (report.has_addresses()) {
      registry_->OnAddresses(handle_, report.addresses());
    } else {
      registry_->OnDrift(handle_, report.drift());
    }
  }
  if (throttle_.holding() && limits_.timer != nullptr) {
    limits_.timer->Schedule(this, absl::Now() + throttle_.retry_in());
  }
}

void AgentSession::OnTimer() {
  absl::MutexLock l(&report_mu_);
  DeliverAllowedLocked();
}

void AgentSession::OnReadDone(bool ok) {
  if (!ok) {
    // The agent half-closed or the stream broke.
    FinishOnce(absl::OkStatus());
    return;
  }
  absl::Status s = Handle(in_);
  if (!s.ok()) {
    LogWarning("ending agent stream", {{"node", identity_}, {"error", s.ToString()}});
    FinishOnce(s);
    return;
  }
  {
    absl::MutexLock l(&mu_);
    if (finishing_) return;
  }
  StartRead(&in_);
}

void AgentSession::OnCancel() { FinishOnce(absl::CancelledError("stream cancelled")); }

void AgentSession::OnDone() {
  // Held reports die with the stream; the agent re-reports on reconnect.
  if (limits_.timer != nullptr) limits_.timer->Cancel(this);
  // Its unanswered plan requests fail now rather than at their deadline.
  if (attached_) plans_->Detach(identity_, this);
  if (handle_ != nullptr) registry_->Disconnect(handle_);
  delete this;
}

}  // namespace ferry::controller
