#ifndef FERRY_NODE_AGENT_MONITOR_DRIFT_MONITOR_H_
#define FERRY_NODE_AGENT_MONITOR_DRIFT_MONITOR_H_

// Watches the kernel for drift on its own thread: nftables and rtnetlink
// notifications (coalesced into one check per burst; the forwarding
// sysctls announce themselves as RTM_NEWNETCONF) and a periodic full
// verification, plus an optional sysctl poll. Each check runs the
// injected check function (a DriftChecker's Check) and hands changed
// views to the report function. Sleeps in poll() between deadlines; never
// busy-polls.

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/kernel/netlink_socket.h"
#include "node-agent/kernel/nft_generation.h"
#include "node-agent/monitor/check_scheduler.h"
#include "node-agent/monitor/drift_reporter.h"
#include "node-agent/monitor/kernel_events.h"
#include "node-agent/reconcile/drift.h"
#include "node-agent/state/route_tables.h"

namespace ferry::agent {

class DriftMonitor {
 public:
  using CheckFunction = std::function<DriftOutcome(const DriftCheck&)>;
  using ReportFunction = std::function<void(const ferry::v1::DriftReport&)>;

  struct Options {
    CheckScheduler::Options schedule;
    RouteTableOptions tables;
    // The pid whose nftables transactions are Ferry's own (the agent).
    pid_t own_pid = 0;  // 0: getpid()
  };

  DriftMonitor(Options options, CheckFunction check, ReportFunction report);
  ~DriftMonitor();
  DriftMonitor(const DriftMonitor&) = delete;
  DriftMonitor& operator=(const DriftMonitor&) = delete;

  // Opens the sockets in the calling thread's network namespace and starts
  // the watcher thread, which first verifies everything once.
  absl::Status Start();
  // Wakes the thread and joins it. Idempotent.
  void Stop();

  // The intent changed (a push was applied): compare again soon, coalesced
  // like a kernel event, so standing drift that the push resolved (an Alert
  // forward declared again) is reported gone without waiting for the
  // periodic verification. Safe from any thread; a no-op before Start().
  void Recheck();

  // Checks run so far (for tests and the benchmark).
  int checks() const { return checks_.load(); }
  int nat_dumps() const { return nat_dumps_.load(); }

 private:
  void Loop();
  void RunCheck(const CheckScheduler::Due& due);
  void ReadEvents(CheckScheduler& scheduler);

  const Options options_;
  const CheckFunction check_;
  const ReportFunction report_;
  // Joined to nftables' and rtnetlink's notification groups.
  std::unique_ptr<NetlinkSocket> nft_events_;
  std::unique_ptr<NetlinkSocket> route_events_;
  std::optional<GenerationQuery> generation_;
  GenerationTracker tracker_;
  DriftReporter reporter_;
  int stop_fd_ = -1;     // eventfd
  int recheck_fd_ = -1;  // eventfd, see Recheck()
  std::thread thread_;
  std::atomic<int> checks_{0};
  std::atomic<int> nat_dumps_{0};
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_MONITOR_DRIFT_MONITOR_H_
