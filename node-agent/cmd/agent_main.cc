// ferry-agent: converges this node's kernel on the config its controller
// pushes. Stopping the agent leaves the kernel as it is (fail static), so
// forwarded traffic keeps flowing while the agent restarts or upgrades.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "api/lib/log.h"
#include "api/observability/endpoints.h"
#include "api/observability/http_server.h"
#include "api/observability/metrics.h"
#include "api/observability/process_metrics.h"
#include "ferry/version.h"
#include "node-agent/client/cert_renewer.h"
#include "node-agent/client/controller_client.h"
#include "node-agent/client/controller_targets.h"
#include "node-agent/client/node_identity.h"
#include "node-agent/client/pinned_join.h"
#include "node-agent/client/tls_channel.h"
#include "node-agent/cmd/agent_flags.h"
#include "node-agent/cmd/agent_metrics.h"
#include "node-agent/cmd/namespace_lock.h"
#include "node-agent/kernel/netlink_backends.h"
#include "node-agent/kernel/plan_lines.h"
#include "node-agent/kernel/return_path_backend.h"
#include "node-agent/kernel/route_lookup.h"
#include "node-agent/monitor/address_monitor.h"
#include "node-agent/monitor/drift_monitor.h"
#include "node-agent/monitor/route_sources.h"
#include "node-agent/probe/probe_scheduler.h"
#include "node-agent/probe/socket_prober.h"
#include "node-agent/reconcile/drift_checker.h"
#include "node-agent/reconcile/reconciler.h"
#include "node-agent/state/config_guard.h"

namespace ferry::agent {
namespace {

constexpr const char* kAgentVersion = kFerryVersion;

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

// A stop request (SIGTERM/SIGINT) reaches whatever is running at the time:
// a join's wait between attempts, then the client and the renewer.
class Shutdown {
 public:
  void Request() {
    std::vector<std::function<void()>> hooks;
    {
      absl::MutexLock lock(&mu_);
      requested_ = true;
      hooks.swap(hooks_);
    }
    for (auto& hook : hooks) hook();
  }
  // Runs `hook` on Request, or now if it came already.
  void OnRequest(std::function<void()> hook) {
    {
      absl::MutexLock lock(&mu_);
      if (!requested_) {
        hooks_.push_back(std::move(hook));
        return;
      }
    }
    hook();
  }
  // Waits up to `delay`; false if a stop was requested.
  bool Sleep(absl::Duration delay) {
    absl::MutexLock lock(&mu_);
    return !mu_.AwaitWithTimeout(absl::Condition(&requested_), delay);
  }

 private:
  absl::Mutex mu_;
  bool requested_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::function<void()>> hooks_ ABSL_GUARDED_BY(mu_);
};

Backoff::RandomSource Jitter() {
  auto gen = std::make_shared<absl::BitGen>();
  return [gen] { return absl::Uniform(*gen, 0.0, 1.0); };
}

// The node's identity for a TCP controller, joining with the token if the
// state dir has none (see LoadOrJoin).
absl::Status EnsureIdentity(const AgentFlags& flags, Shutdown& shutdown) {
  IdentityOptions options;
  options.state_dir = flags.state_dir;
  options.node_name = flags.node_name;
  options.join_token = flags.join_token;
  JoinOptions join;
  join.token = flags.join_token;
  join.node_name = flags.node_name;
  // Every replica serves Join, a follower too: the first one reached will do.
  auto join_any = [&flags, &join] {
    return AskInOrder(flags.controllers, [&join](const std::string& target) {
      JoinOptions to = join;
      to.target = target;
      return JoinController(to);
    });
  };
  absl::StatusOr<NodeCredentials> credentials = LoadOrJoin(
      options, absl::Now(), join_any,
      [&shutdown](absl::Duration delay) { return shutdown.Sleep(delay); }, Jitter());
  return credentials.status();
}

// This node's addresses as the address monitor last saw them.
std::vector<IpAddress> LocalAddresses(const AddressMonitor* monitor) {
  std::vector<IpAddress> out;
  if (monitor == nullptr) return out;
  for (const ferry::v1::NodeAddress& a : monitor->current()) {
    if (absl::StatusOr<IpAddress> ip = IpAddress::Parse(a.address()); ip.ok()) out.push_back(*ip);
  }
  return out;
}

// A drift repair put forwards' kernel state back: their data path is
// probed again at once. A node-wide item (the table, a sysctl) concerns
// every forward.
void ProbeRepairs(const DriftOutcome& outcome, ProbeScheduler& probes) {
  std::set<std::string> forwards;
  for (size_t i = 0; i < outcome.items.size() && i < outcome.repaired.size(); ++i) {
    if (!outcome.repaired[i]) continue;
    if (outcome.items[i].forward.empty()) {
      probes.RepairedAll();
      return;
    }
    forwards.insert(outcome.items[i].forward);
  }
  if (!forwards.empty()) probes.Repaired(forwards);
}

int Run(const AgentFlags& flags) {
  const sigset_t stop_signals = BlockStopSignals();
  Shutdown shutdown;
  std::atomic<bool> exiting{false};
  std::thread signals([&stop_signals, &shutdown, &exiting] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    if (exiting) return;
    LogInfo("stopping; kernel state is left in place", {{"signal", absl::StrCat(signal)}});
    shutdown.Request();
  });
  // On every return path: an early return (an error before the client ran)
  // must not wait for a signal that never comes, so it sends one itself.
  struct JoinSignals {
    std::thread& thread;
    std::atomic<bool>& exiting;
    ~JoinSignals() {
      exiting = true;
      // Blocked everywhere, so it only ends the signal thread's sigwait.
      pthread_kill(thread.native_handle(), SIGINT);
      thread.join();
    }
  } join_signals{signals, exiting};

  absl::StatusOr<NamespaceLock> lock = NamespaceLock::Acquire();
  if (!lock.ok()) {
    LogError("refusing to start", {{"error", std::string(lock.status().message())}});
    return 1;
  }

  absl::StatusOr<std::unique_ptr<NatBackend>> nat = NewNetlinkNatBackend();
  if (!nat.ok()) {
    LogError("opening nftables", {{"error", std::string(nat.status().message())}});
    return 1;
  }
  absl::StatusOr<std::unique_ptr<RouteBackend>> rules = NewNetlinkRouteBackend(flags.tables);
  if (!rules.ok()) {
    LogError("opening rtnetlink", {{"error", std::string(rules.status().message())}});
    return 1;
  }
  absl::StatusOr<std::unique_ptr<MarkBackend>> marks = NewNetlinkMarkBackend();
  if (!marks.ok()) {
    LogError("opening nftables for the return marks",
             {{"error", std::string(marks.status().message())}});
    return 1;
  }
  // The return paths: rules and routes with the marks they match, one state.
  auto routes = std::make_unique<ReturnPathBackend>(*std::move(rules), *std::move(marks));
  std::unique_ptr<SysctlBackend> sysctls = NewProcSysctlBackend();
  absl::StatusOr<std::unique_ptr<NetlinkRouteLookup>> route_lookup = NetlinkRouteLookup::Open();
  if (!route_lookup.ok()) {
    LogError("opening rtnetlink for route lookups",
             {{"error", std::string(route_lookup.status().message())}});
    return 1;
  }

  Reconciler reconciler(nat->get(), routes.get(), sysctls.get(), Reconciler::Options{flags.tables});
  if (absl::Status status = reconciler.Adopt(); !status.ok()) {
    LogError("cannot read kernel state (ferry-agent needs CAP_NET_ADMIN)",
             {{"error", std::string(status.message())}});
    return 1;
  }

  // /metrics, /healthz, /readyz (--metrics-listen): served from here on,
  // so a scrape sees the agent before it joins or connects.
  observability::Registry registry;
  if (absl::Status s = observability::RegisterProcessMetrics(&registry, "agent"); !s.ok()) {
    LogError("registering metrics", {{"error", std::string(s.message())}});
    return 1;
  }
  absl::StatusOr<std::unique_ptr<AgentMetrics>> created = AgentMetrics::Create(&registry);
  if (!created.ok()) {
    LogError("registering metrics", {{"error", std::string(created.status().message())}});
    return 1;
  }
  AgentMetrics* const metrics = created->get();
  metrics->Adopted();
  std::unique_ptr<observability::HttpServer> http;
  if (!flags.metrics_listen.empty()) {
    observability::HttpServerOptions http_options;
    http_options.listen = flags.metrics_listen;
    http = std::make_unique<observability::HttpServer>(http_options);
    observability::AddObservabilityEndpoints(http.get(), &registry,
                                             [metrics] { return metrics->Ready(); });
    if (absl::Status s = http->Start(); !s.ok()) {
      LogError("cannot serve --metrics-listen", {{"error", std::string(s.message())}});
      return 1;
    }
    LogInfo("serving metrics",
            {{"address", flags.metrics_listen}, {"port", absl::StrCat(http->port())}});
  }

  // Checked after the kernel, so that an agent that cannot run (no
  // CAP_NET_ADMIN) never spends a one-time token.
  // A unix: socket is never listed with others (ParseControllerTargets).
  const bool tls = !absl::StartsWith(flags.controllers.front(), "unix:");
  std::optional<StateDirCredentials> credentials;
  if (tls) {
    if (absl::Status status = EnsureIdentity(flags, shutdown); !status.ok()) {
      if (absl::IsCancelled(status)) return 0;  // a stop was asked for while joining
      LogError("cannot start without a node identity", {{"error", std::string(status.message())}});
      return 1;
    }
    credentials.emplace(flags.state_dir, flags.node_name);
  }

  // Set before the client runs, so before any push can arrive.
  DriftMonitor* drift_monitor = nullptr;
  const AddressMonitor* address_monitor = nullptr;
  ControllerClient* controller = nullptr;
  ConfigGuard guard(flags.max_config_entries,
                    [&address_monitor] { return LocalAddresses(address_monitor); });
  // Told every applied push; reports once the client exists (its thread
  // starts after it).
  RouteSourceMonitor route_sources(
      route_lookup->get(),
      [&controller](std::vector<ferry::v1::RouteSource> sources) {
        controller->UpdateRouteSources(std::move(sources));
      },
      RouteSourceMonitor::Options{});
  // Data-path probes (node-agent/probe/): fed every applied push and drift
  // repair; their threads start just before the client runs, and stop
  // just after (the scheduler reports through the client). The guard,
  // declared after both, stops the prober first on every other way out,
  // so no probe's result reaches a scheduler being destroyed.
  SocketProber prober;
  ProbeScheduler::Options probe_options;
  probe_options.rate = flags.probe_rate;
  probe_options.period = flags.probe_period;
  ProbeScheduler probe_scheduler(
      &prober,
      [&controller](const ferry::v1::DataPathReport& report) {
        return controller->ReportDataPath(report);
      },
      probe_options);
  struct StopProbes {
    SocketProber& prober;
    ProbeScheduler& scheduler;
    ~StopProbes() {
      prober.Stop();
      scheduler.Stop();
    }
  } stop_probes{prober, probe_scheduler};
  ProbeScheduler* const probes = flags.probe_rate > 0 ? &probe_scheduler : nullptr;
  // A full config or a delta alike: the guard's check, the reconciler's
  // apply (`reconcile`), timed and counted, and on success the guard, the
  // route sources and the probes told. A refusal is a NACK that took no time.
  auto apply_push = [&guard, &route_sources, probes, metrics](AgentMetrics::ApplyKind kind,
                                                              const auto& push, auto reconcile) {
    if (absl::Status refused = guard.Check(push); !refused.ok()) {
      metrics->Applied(kind, refused, absl::ZeroDuration(), "");
      return refused;
    }
    const absl::Time start = absl::Now();
    absl::Status status = reconcile(push);
    metrics->Applied(kind, status, absl::Now() - start, push.version());
    if (status.ok()) {
      guard.Applied(push);
      route_sources.Applied(push);
      if (probes != nullptr) probes->Applied(push);
    }
    return status;
  };
  auto apply = [&reconciler, &apply_push](const ferry::v1::NodeConfig& config) {
    absl::Status status =
        apply_push(AgentMetrics::ApplyKind::kFull, config,
                   [&reconciler](const ferry::v1::NodeConfig& c) { return reconciler.Apply(c); });
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
  auto apply_delta = [&reconciler, &apply_push](const ferry::v1::NodeConfigDelta& delta) {
    absl::Status status = apply_push(
        AgentMetrics::ApplyKind::kDelta, delta,
        [&reconciler](const ferry::v1::NodeConfigDelta& d) { return reconciler.ApplyDelta(d); });
    if (status.ok()) {
      LogDebug("applied delta", {{"version", delta.version()},
                                 {"base", delta.base_version()},
                                 {"forwards", absl::StrCat(delta.forwards_size())}});
    }
    return status;
  };
  ControllerClient::Options options;
  options.targets = flags.controllers;
  options.node_name = flags.node_name;
  options.labels = flags.labels;
  options.agent_version = kAgentVersion;
  if (credentials.has_value()) {
    options.credentials = [&credentials] { return credentials->Get(); };
  }
  options.forward_errors = [&reconciler] { return reconciler.forward_errors(); };
  options.holds_last_applied = [&reconciler] { return !reconciler.summary().partial; };
  options.on_applied = [&drift_monitor] {
    if (drift_monitor != nullptr) drift_monitor->Recheck();
  };
  // ResourceService.Diff: what a config would change here, checked as a
  // push is and planned against the kernel as it is; nothing is applied.
  options.plan =
      [&reconciler,
       &guard](const ferry::v1::NodeConfig& config) -> absl::StatusOr<std::vector<std::string>> {
    if (absl::Status refused = guard.Check(config); !refused.ok()) {
      return absl::Status(refused.code(),
                          absl::StrCat("this agent would refuse the config: ", refused.message()));
    }
    absl::StatusOr<KernelChanges> changes = reconciler.Preview(config);
    if (!changes.ok()) return changes.status();
    return PlanLines(*changes);
  };
  if (probes != nullptr) {
    options.capabilities.push_back(ferry::v1::CAPABILITY_DATA_PATH_PROBE);
  }
  options.on_connected = [probes, metrics] {
    metrics->SetConnected(true);
    // Verdicts are sent as changes; each new stream gets them all.
    if (probes != nullptr) probes->Connected();
  };
  options.on_disconnected = [metrics] { metrics->SetConnected(false); };
  ControllerClient client(options, apply, apply_delta);
  controller = &client;

  AddressMonitor monitor(
      [&client, &route_sources](const std::vector<ferry::v1::NodeAddress>& addresses) {
        LogInfo("addresses changed", {{"count", absl::StrCat(addresses.size())}});
        client.UpdateAddresses(addresses);
        // A new or removed address can change the routes' sources.
        route_sources.Recheck();
      });
  if (absl::Status status = monitor.Start(); !status.ok()) {
    LogError("watching addresses", {{"error", std::string(status.message())}});
    return 1;
  }
  client.UpdateAddresses(monitor.current());
  address_monitor = &monitor;

  DriftMonitor::Options drift_options;
  drift_options.schedule.verify_interval = flags.verify_interval;
  drift_options.schedule.sysctl_poll = flags.sysctl_poll;
  drift_options.tables = flags.tables;
  DriftChecker checker(&reconciler, nat->get(), routes.get(), sysctls.get());
  DriftMonitor drift(
      drift_options,
      [&checker, probes, metrics](const DriftCheck& check) {
        DriftOutcome outcome = checker.Check(check);
        metrics->DriftChecked(outcome);
        if (probes != nullptr) ProbeRepairs(outcome, *probes);
        return outcome;
      },
      [&client](const ferry::v1::DriftReport& report) { client.ReportDrift(report); });
  if (absl::Status status = drift.Start(); !status.ok()) {
    LogError("watching for drift", {{"error", std::string(status.message())}});
    monitor.Stop();
    return 1;
  }
  drift_monitor = &drift;
  route_sources.Start();

  if (probes != nullptr) {
    if (absl::Status status = prober.Start(); !status.ok()) {
      LogError("starting the data-path prober", {{"error", std::string(status.message())}});
      route_sources.Stop();
      drift.Stop();
      monitor.Stop();
      return 1;
    }
    probes->Start();
  }

  std::optional<CertRenewer> renewer;
  std::thread renewing;
  if (credentials.has_value()) {
    renewer.emplace(CertRenewer::Options{flags.state_dir, flags.node_name},
                    RenewOverTls(flags.controllers, &*credentials));
    renewing = std::thread([&renewer] { renewer->Run(); });
    shutdown.OnRequest([&renewer] { renewer->Stop(); });
  }
  shutdown.OnRequest([&client] { client.Stop(); });
  LogInfo("started", {{"node", flags.node_name},
                      {"controller", absl::StrJoin(flags.controllers, ",")},
                      {"tls", tls ? "true" : "false"},
                      {"version", kAgentVersion},
                      {"verify_interval", absl::FormatDuration(flags.verify_interval)},
                      {"probe_rate", absl::StrCat(flags.probe_rate)},
                      {"addresses", absl::StrCat(monitor.current().size())}});
  client.Run();  // returns only after Stop()
  if (renewing.joinable()) renewing.join();
  // Before the client goes: the scheduler's thread sends through it.
  prober.Stop();
  probe_scheduler.Stop();
  route_sources.Stop();
  drift.Stop();
  monitor.Stop();
  if (http != nullptr) http->Stop();
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
  if (flags->version) {
    std::printf("ferry-agent %s\n", ferry::kFerryVersion);
    return 0;
  }
  ferry::SetLogLevel(flags->log_level);
  ferry::SetLogFormat(flags->log_format);
  return ferry::agent::Run(*flags);
}
