// ferry-agent: converges this node's kernel on the config its controller
// pushes. Stopping the agent leaves the kernel as it is (fail static), so
// forwarded traffic keeps flowing while the agent restarts or upgrades.

#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "node-agent/client/address_monitor.h"
#include "node-agent/client/agent_flags.h"
#include "node-agent/client/controller_client.h"
#include "node-agent/kernel/netlink_backends.h"
#include "node-agent/monitor/drift_monitor.h"
#include "node-agent/reconcile/reconciler.h"

namespace ferry::agent {
namespace {

constexpr char kAgentVersion[] = "0.2.0";

// Blocks SIGTERM/SIGINT in every thread (call before starting any) so that
// only the waiting thread sees them.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int Run(const AgentFlags& flags) {
  const sigset_t stop_signals = BlockStopSignals();

  absl::StatusOr<std::unique_ptr<NatBackend>> nat = NewNetlinkNatBackend();
  if (!nat.ok()) {
    LogError("opening nftables", {{"error", std::string(nat.status().message())}});
    return 1;
  }
  absl::StatusOr<std::unique_ptr<RouteBackend>> routes = NewNetlinkRouteBackend();
  if (!routes.ok()) {
    LogError("opening rtnetlink", {{"error", std::string(routes.status().message())}});
    return 1;
  }
  std::unique_ptr<SysctlBackend> sysctls = NewProcSysctlBackend();

  Reconciler reconciler(nat->get(), routes->get(), sysctls.get(),
                        Reconciler::Options{flags.tables});
  if (absl::Status status = reconciler.Adopt(); !status.ok()) {
    LogError("cannot read kernel state (ferry-agent needs CAP_NET_ADMIN)",
             {{"error", std::string(status.message())}});
    return 1;
  }

  // Set before the client runs, so before any push can arrive.
  DriftMonitor* drift_monitor = nullptr;
  auto apply = [&reconciler](const ferry::v1::NodeConfig& config) {
    absl::Status status = reconciler.Apply(config);
    if (status.ok()) {
      Reconciler::Summary s = reconciler.summary();
      LogInfo("applied config", {{"version", config.version()},
                                 {"dnat", absl::StrCat(s.dnat_elements)},
                                 {"masq", absl::StrCat(s.masq_elements)},
                                 {"rules", absl::StrCat(s.rules)},
                                 {"routes", absl::StrCat(s.routes)}});
    }
    return status;
  };
  auto apply_delta = [&reconciler](const ferry::v1::NodeConfigDelta& delta) {
    absl::Status status = reconciler.ApplyDelta(delta);
    if (status.ok()) {
      LogDebug("applied delta", {{"version", delta.version()},
                                 {"base", delta.base_version()},
                                 {"forwards", absl::StrCat(delta.forwards_size())}});
    }
    return status;
  };
  ControllerClient::Options options;
  options.target = flags.controller;
  options.node_name = flags.node_name;
  options.labels = flags.labels;
  options.agent_version = kAgentVersion;
  options.forward_errors = [&reconciler] { return reconciler.forward_errors(); };
  options.holds_last_applied = [&reconciler] { return !reconciler.summary().partial; };
  options.on_applied = [&drift_monitor] {
    if (drift_monitor != nullptr) drift_monitor->Recheck();
  };
  ControllerClient client(options, apply, apply_delta);

  AddressMonitor monitor([&client](const std::vector<ferry::v1::NodeAddress>& addresses) {
    LogInfo("addresses changed", {{"count", absl::StrCat(addresses.size())}});
    client.UpdateAddresses(addresses);
  });
  if (absl::Status status = monitor.Start(); !status.ok()) {
    LogError("watching addresses", {{"error", std::string(status.message())}});
    return 1;
  }
  client.UpdateAddresses(monitor.current());

  DriftMonitor::Options drift_options;
  drift_options.schedule.verify_interval = flags.verify_interval;
  drift_options.schedule.sysctl_poll = flags.sysctl_poll;
  drift_options.tables = flags.tables;
  DriftMonitor drift(
      drift_options,
      [&reconciler](const DriftCheck& check) { return reconciler.CheckDrift(check); },
      [&client](const ferry::v1::DriftReport& report) { client.ReportDrift(report); });
  if (absl::Status status = drift.Start(); !status.ok()) {
    LogError("watching for drift", {{"error", std::string(status.message())}});
    monitor.Stop();
    return 1;
  }
  drift_monitor = &drift;

  std::thread signals([&stop_signals, &client] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    LogInfo("stopping; kernel state is left in place", {{"signal", absl::StrCat(signal)}});
    client.Stop();
  });
  LogInfo("started", {{"node", flags.node_name},
                      {"controller", flags.controller},
                      {"version", kAgentVersion},
                      {"verify_interval", absl::FormatDuration(flags.verify_interval)},
                      {"addresses", absl::StrCat(monitor.current().size())}});
  client.Run();  // returns only after Stop()
  signals.join();
  drift.Stop();
  monitor.Stop();
  return 0;
}

}  // namespace
}  // namespace ferry::agent

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<ferry::agent::AgentFlags> flags = ferry::agent::ParseAgentFlags(args);
  if (!flags.ok()) {
    std::fprintf(stderr, "ferry-agent: %s\n\n%s", std::string(flags.status().message()).c_str(),
                 ferry::agent::AgentUsage().c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(ferry::agent::AgentUsage().c_str(), stdout);
    return 0;
  }
  ferry::SetLogLevel(flags->log_level);
  return ferry::agent::Run(*flags);
}
