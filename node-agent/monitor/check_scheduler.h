#ifndef FERRY_NODE_AGENT_MONITOR_CHECK_SCHEDULER_H_
#define FERRY_NODE_AGENT_MONITOR_CHECK_SCHEDULER_H_

// When to run the next drift check: a burst of kernel events is coalesced
// into one check (a quiet gap after the last event, but no later than a
// bound after the first), and a full verification runs periodically as a
// safety net. Sysctl changes arrive as kernel events too (RTM_NEWNETCONF),
// so by default nothing else wakes an idle agent; a sysctl poll can be
// turned on for kernels that do not announce them. Pure: time is passed in.

#include <optional>

#include "absl/time/time.h"

namespace ferry::agent {

enum class CheckKind {
  kEvent,     // kernel events (or lost events): rules, routes and NAT
  kPeriodic,  // the safety net: everything
  kSysctl,    // the sysctls Ferry set, nothing else (only with a sysctl poll)
};

const char* CheckTrigger(CheckKind kind);  // "event", "periodic", "sysctl"

class CheckScheduler {
 public:
  struct Options {
    absl::Duration quiet = absl::Milliseconds(5);
    absl::Duration max_delay = absl::Milliseconds(50);
    // Zero (the default): no poll; the forwarding sysctls are checked on
    // their RTM_NEWNETCONF events and by every full verification.
    absl::Duration sysctl_poll = absl::ZeroDuration();
    absl::Duration verify_interval = absl::Seconds(30);
  };

  struct Due {
    CheckKind kind;
    absl::Time first_event;  // when the burst (or the poll) began
  };

  CheckScheduler(Options options, absl::Time now);

  void OnEvent(absl::Time now);
  // When the next check is due; the monitor sleeps until then.
  absl::Time NextDeadline() const;
  // The check due at `now`, if any, and re-arms its timer. An event check
  // also satisfies a periodic one that is due at the same time.
  std::optional<Due> TakeDue(absl::Time now);

 private:
  const Options options_;
  std::optional<absl::Time> burst_first_;
  absl::Time burst_last_;
  absl::Time next_sysctl_;
  absl::Time next_verify_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_MONITOR_CHECK_SCHEDULER_H_
