#include "controller/fleet/plan_requests.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ferry::controller {
namespace {

// How often a waiting Ask looks at `cancelled`.
constexpr absl::Duration kCancelPoll = absl::Milliseconds(100);

}  // namespace

void PlanRequests::Attach(const std::string& node, PlanSink* sink) {
  absl::MutexLock lock(&mu_);
  sinks_[node].push_back(sink);
}

void PlanRequests::Detach(const std::string& node, PlanSink* sink) {
  absl::MutexLock lock(&mu_);
  if (auto it = sinks_.find(node); it != sinks_.end()) {
    std::erase(it->second, sink);
    if (it->second.empty()) sinks_.erase(it);
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto next = std::next(it);
    if (it->second.sink == sink) {
      ResolveLocked(it, absl::UnavailableError(
                            "the node's agent disconnected before it answered; try again"));
    }
    it = next;
  }
}

bool PlanRequests::Answer(const std::string& node, const ferry::v1::PlanResult& result) {
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(result.nonce());
  if (it == pending_.end() || it->second.node != node) return false;
  if (!result.error().empty()) {
    ResolveLocked(it, absl::UnknownError(result.error()));
  } else {
    ResolveLocked(it, std::vector<std::string>(result.lines().begin(), result.lines().end()));
  }
  return true;
}

void PlanRequests::ResolveLocked(std::map<std::string, Pending>::iterator it,
                                 absl::StatusOr<std::vector<std::string>> answer) {
  Pending& pending = it->second;
  pending.call->answers.insert_or_assign(pending.node, std::move(answer));
  --pending.call->waiting;
  if (auto count = outstanding_.find(pending.node); count != outstanding_.end()) {
    if (--count->second <= 0) outstanding_.erase(count);
  }
  pending_.erase(it);
}

PlanRequests::Answers PlanRequests::Ask(const std::map<std::string, ferry::v1::NodeConfig>& configs,
                                        absl::Time deadline,
                                        const std::function<bool()>& cancelled) {
  const absl::Time start = absl::Now();
  Call call;
  absl::MutexLock lock(&mu_);
  for (const auto& [node, config] : configs) {
    auto attached = sinks_.find(node);
    if (attached == sinks_.end()) {
      call.answers.emplace(node, absl::UnavailableError("the node's agent is not connected"));
      continue;
    }
    if (outstanding_[node] >= kMaxOutstandingPerNode) {
      call.answers.emplace(
          node, absl::ResourceExhaustedError(absl::StrCat("too many diffs in flight on this node (",
                                                          kMaxOutstandingPerNode, "); try again")));
      continue;
    }
    const std::string nonce = absl::StrCat("diff-", ++next_nonce_);
    ferry::v1::ControllerMessage message;
    message.mutable_plan()->set_nonce(nonce);
    *message.mutable_plan()->mutable_config() = config;
    // The newest stream first: an older one still attached is ending.
    PlanSink* taken = nullptr;
    for (auto sink = attached->second.rbegin(); sink != attached->second.rend(); ++sink) {
      if ((*sink)->SendPlan(message)) {
        taken = *sink;
        break;
      }
    }
    if (taken == nullptr) {
      call.answers.emplace(
          node, absl::UnavailableError("the node's agent stream is ending or busy; try again"));
      continue;
    }
    pending_.emplace(nonce, Pending{&call, node, taken});
    ++outstanding_[node];
    ++call.waiting;
  }

  auto answered = [&call] { return call.waiting == 0; };
  bool gave_up = false;
  while (!answered()) {
    const absl::Time now = absl::Now();
    if (now >= deadline || (cancelled && cancelled())) {
      gave_up = true;
      break;
    }
    mu_.AwaitWithDeadline(absl::Condition(&answered),
                          cancelled ? std::min(deadline, now + kCancelPoll) : deadline);
  }
  if (gave_up) {
    const absl::Status why =
        cancelled && cancelled()
            ? absl::CancelledError("the diff was cancelled before the agent answered")
            : absl::DeadlineExceededError(absl::StrCat(
                  "the agent did not answer within ",
                  absl::FormatDuration(absl::Trunc(deadline - start, absl::Milliseconds(100))),
                  "; try again"));
    for (auto it = pending_.begin(); it != pending_.end();) {
      auto next = std::next(it);
      if (it->second.call == &call) ResolveLocked(it, why);
      it = next;
    }
  }
  return std::move(call.answers);
}

}  // namespace ferry::controller
