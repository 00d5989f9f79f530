// 8: what data-path probing costs at 10k forwards on one node, with the
// real processes. A frontend namespace with one ferry-agent, a backend
// namespace with one TCP listener, the controller on a unix socket:
//
//   frontend ns (node-a)                         backend ns
//   10.64.0.1:20000..29999 (the forwards)
//   10.77.0.1 eth0 ---------- veth ----------- eth0 10.77.0.2:8080 (listener)
//
// Every forward is Masquerade, so the backend answers the frontend's own
// address and needs no agent and no return route. `ferryctl apply` of all
// forwards, then the burst: the time until every forward has a verdict
// (the event-driven probes after the apply, held to --probe-rate). Then a
// steady window with the agent's defaults, and the reference in the same
// run: the same lab with the agent restarted with probing off.

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/bench/bench.h"
#include "tests/bench/bench_forwards.h"
#include "tests/bench/bench_netns.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/controller_process.h"
#include "tests/bench/probe_listener.h"
#include "tests/bench/verdict_watch.h"

namespace ferry::bench {
namespace {

constexpr char kNode[] = "node-a";
constexpr char kFrontendAddress[] = "10.64.0.1";
constexpr char kBackendAddress[] = "10.77.0.2";
constexpr uint16_t kBackendPort = 8080;
constexpr int kFirstPort = 20000;
// ferry-agent's defaults, which case (a) runs with.
constexpr double kDefaultRate = 200;    // --probe-rate
constexpr double kDefaultPeriod = 15;   // --probe-period
constexpr double kVerifyInterval = 30;  // --verify-interval: both windows hold whole ones
constexpr char kCounterTable[] = "ferry_probe_bench";

struct Lab {
  std::unique_ptr<Netns> front;
  std::unique_ptr<Netns> back;
};

// The links and addresses above, plus a SYN counter in the backend (a
// table of the benchmark's own; no agent runs there). Nothing touches the
// root namespace: the veth is made in the frontend with its peer sent to
// the backend.
absl::StatusOr<Lab> MakeLab(const std::string& dir) {
  Lab lab;
  absl::StatusOr<std::unique_ptr<Netns>> front = Netns::Create("pfront");
  if (!front.ok()) return front.status();
  lab.front = *std::move(front);
  absl::StatusOr<std::unique_ptr<Netns>> back = Netns::Create("pback");
  if (!back.ok()) return back.status();
  lab.back = *std::move(back);
  if (absl::Status s =
          IpBatch(*lab.front, dir,
                  absl::StrCat("link set lo up\nlink add eth0 type veth peer name "
                               "eth0 netns ",
                               lab.back->name(), "\naddr add 10.77.0.1/24 dev eth0\naddr add ",
                               kFrontendAddress, "/32 dev eth0\nlink set eth0 up\n"));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = IpBatch(*lab.back, dir,
                               absl::StrCat("link set lo up\naddr add ", kBackendAddress,
                                            "/24 dev eth0\nlink set eth0 up\n"));
      !s.ok()) {
    return s;
  }
  const std::string ruleset = absl::StrCat(dir, "/counter.nft");
  if (absl::Status s = WriteFile(
          ruleset, absl::StrCat("table inet ", kCounterTable,
                                " {\n  counter syns {}\n  chain input {\n    type filter hook "
                                "input priority 0; policy accept;\n    tcp dport ",
                                kBackendPort,
                                " tcp flags & (syn | ack) == syn counter name \"syns\"\n  }\n}\n"));
      !s.ok()) {
    return s;
  }
  if (absl::StatusOr<ProcessResult> r = MustRun({"nft", "-f", ruleset}, lab.back.get()); !r.ok()) {
    return r.status();
  }
  return lab;
}

std::string Manifest(int n) {
  std::string text;
  text.reserve(static_cast<size_t>(n) * 300);
  for (int i = 0; i < n; ++i) {
    ferry::v1::Object f =
        MasqueradeForward(absl::StrFormat("probe-%05d", i), kNode, kFrontendAddress,
                          static_cast<uint32_t>(kFirstPort + i), kBackendPort);
    f.mutable_ip_forward()->mutable_spec()->mutable_backend()->set_address(kBackendAddress);
    absl::StrAppend(&text, "---\n", ForwardYaml(f));
  }
  return text;
}

// utime + stime of every thread of `pid`, in seconds, from /proc/PID/stat.
absl::StatusOr<double> ProcessCpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return absl::NotFoundError(absl::StrCat("no process ", pid));
  // The command name may hold spaces; the fields after it do not.
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return absl::DataLossError("/proc/PID/stat without a name");
  std::vector<std::string> fields = absl::StrSplit(line.substr(paren + 2), ' ');
  // Fields 14 and 15 of stat(5), counted from the state (field 3) here.
  int64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::DataLossError(absl::StrCat("/proc/", pid, "/stat: no utime/stime"));
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Context switches (voluntary and not) of every thread of `pid` so far,
// from /proc/PID/task/*/status: how often the process was woken. A thread
// that ended takes its count with it.
int64_t ProcessSwitches(pid_t pid) {
  int64_t total = 0;
  std::error_code error;
  for (const auto& task :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task"), error)) {
    std::ifstream in(task.path() / "status");
    std::string line;
    while (std::getline(in, line)) {
      for (absl::string_view key : {"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"}) {
        int64_t v = 0;
        if (absl::StartsWith(line, key) &&
            absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(key.size())), &v)) {
          total += v;
        }
      }
    }
  }
  return total;
}

// SYNs that reached the backend's port: probes started (a retransmitted
// SYN counts again).
absl::StatusOr<int64_t> SynCount(const Netns& back) {
  absl::StatusOr<ProcessResult> r =
      MustRun({"nft", "list", "counter", "inet", kCounterTable, "syns"}, &back);
  if (!r.ok()) return r.status();
  const size_t at = r->output.find("packets ");
  int64_t packets = 0;
  if (at == std::string::npos ||
      !absl::SimpleAtoi(r->output.substr(at + 8, r->output.find(' ', at + 8) - at - 8), &packets)) {
    return absl::DataLossError(absl::StrCat("nft counter: ", r->output));
  }
  return packets;
}

// rx + tx packets of the backend's veth, from its namespace's own sysfs
// (`ip netns exec` mounts it).
absl::StatusOr<int64_t> VethPackets(const Netns& back) {
  absl::StatusOr<ProcessResult> r = MustRun(
      {"ip", "netns", "exec", back.name(), "cat", "/sys/class/net/eth0/statistics/rx_packets",
       "/sys/class/net/eth0/statistics/tx_packets"},
      nullptr);
  if (!r.ok()) return r.status();
  int64_t total = 0;
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(r->output, '\n', absl::SkipWhitespace())) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &v)) {
      return absl::DataLossError(absl::StrCat("veth statistics: ", r->output));
    }
    total += v;
    ++lines;
  }
  if (lines != 2) return absl::DataLossError(absl::StrCat("veth statistics: ", r->output));
  return total;
}

// Everything one window counts, at one moment.
struct Sample {
  double at = 0;
  double agent_cpu = 0;
  double controller_cpu = 0;
  int64_t agent_switches = 0;
  int64_t syns = 0;
  int64_t accepted = 0;
  int64_t packets = 0;
};

struct Processes {
  pid_t agent = 0;
  pid_t controller = 0;
  const Netns* back = nullptr;
  const ProbeListener* listener = nullptr;
};

absl::StatusOr<Sample> Take(const Processes& p) {
  Sample s;
  absl::StatusOr<int64_t> syns = SynCount(*p.back);
  if (!syns.ok()) return syns.status();
  absl::StatusOr<int64_t> packets = VethPackets(*p.back);
  if (!packets.ok()) return packets.status();
  s.at = NowSeconds();
  absl::StatusOr<double> agent = ProcessCpuSeconds(p.agent);
  if (!agent.ok()) return agent.status();
  absl::StatusOr<double> controller = ProcessCpuSeconds(p.controller);
  if (!controller.ok()) return controller.status();
  s.agent_cpu = *agent;
  s.controller_cpu = *controller;
  s.agent_switches = ProcessSwitches(p.agent);
  s.syns = *syns;
  s.accepted = p.listener->accepted();
  s.packets = *packets;
  return s;
}

// One steady window's figures, as rates.
struct Window {
  double seconds = 0;
  double agent_cpu = 0;       // share of one core
  double controller_cpu = 0;  // share of one core
  double agent_switches = 0;  // per second
  double syns = 0;            // per second
  double accepted = 0;        // per second
  double packets = 0;         // per second, rx + tx
  int64_t agent_rss_kib = 0;
  int64_t agent_peak_kib = 0;
};

absl::StatusOr<Window> Measure(const Processes& p, const Child& agent, double seconds) {
  absl::StatusOr<Sample> a = Take(p);
  if (!a.ok()) return a.status();
  // The window is the measurement; nothing is awaited here.
  const double end = a->at + seconds;
  while (NowSeconds() < end) {
    usleep(static_cast<useconds_t>(std::min(0.5, std::max(0.001, end - NowSeconds())) * 1e6));
  }
  absl::StatusOr<Sample> b = Take(p);
  if (!b.ok()) return b.status();
  Window w;
  w.seconds = b->at - a->at;
  w.agent_cpu = (b->agent_cpu - a->agent_cpu) / w.seconds;
  w.controller_cpu = (b->controller_cpu - a->controller_cpu) / w.seconds;
  w.agent_switches = static_cast<double>(b->agent_switches - a->agent_switches) / w.seconds;
  w.syns = static_cast<double>(b->syns - a->syns) / w.seconds;
  w.accepted = static_cast<double>(b->accepted - a->accepted) / w.seconds;
  w.packets = static_cast<double>(b->packets - a->packets) / w.seconds;
  w.agent_rss_kib = agent.RssKib();
  w.agent_peak_kib = agent.PeakRssKib();
  return w;
}

// Waits until each of `pids` used less than `share` of a core over one
// second, or `max_seconds` pass (the processes settling after a burst of
// work, e.g. the controller writing 10k statuses). Returns whether they
// did.
bool WaitQuiet(const std::vector<pid_t>& pids, double share, double max_seconds) {
  const double deadline = NowSeconds() + max_seconds;
  while (NowSeconds() < deadline) {
    std::vector<double> before;
    for (pid_t pid : pids) before.push_back(ProcessCpuSeconds(pid).value_or(0));
    sleep(1);
    bool quiet = true;
    for (size_t i = 0; i < pids.size(); ++i) {
      quiet = quiet && ProcessCpuSeconds(pids[i]).value_or(0) - before[i] < share;
    }
    if (quiet) return true;
  }
  return false;
}

double ConnectedMetric(const ControllerProcess& controller) {
  absl::StatusOr<HttpResponse> r = HttpGet(controller.metrics_port, "/metrics");
  if (!r.ok()) return -1;
  return MetricValue(r->body, absl::StrCat("ferry_node_connected{node=\"", kNode, "\"}"));
}

double AckCount(const ControllerProcess& controller) {
  absl::StatusOr<HttpResponse> r = HttpGet(controller.metrics_port, "/metrics");
  if (!r.ok()) return -1;
  return MetricValue(r->body, "ferry_apply_latency_seconds_count");
}

// The flag that turns probing off on the agent being measured (its
// documented off switch; a period of 0 is refused, at least 1 s).
absl::StatusOr<std::string> ProbesOffFlag(const std::string& agent) {
  absl::StatusOr<ProcessResult> r = RunProcess({agent, "--help"}, nullptr, "", 10);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0 || r->output.find("--probe-rate") == std::string::npos) {
    return absl::FailedPreconditionError(
        "ferry-agent --help lists no --probe-rate: it cannot be measured without probing");
  }
  return std::string("--probe-rate=0");
}

absl::StatusOr<std::unique_ptr<Child>> StartNodeAgent(const BenchOptions& options,
                                                      const ControllerProcess& controller,
                                                      const Netns& ns, const std::string& log,
                                                      const std::vector<std::string>& extra) {
  absl::StatusOr<std::unique_ptr<Child>> agent =
      StartAgentWithFlags(options, controller, ns.fd(), kNode, log, extra);
  if (!agent.ok()) return agent.status();
  if (!WaitUntil([&] { return ConnectedMetric(controller) == 1; }, 30, 0.05)) {
    return absl::UnavailableError(
        absl::StrCat(kNode, "'s agent did not connect; its log: ", LogTail(log)));
  }
  return agent;
}

// Whether `count` probe starts in `seconds` stay within --probe-rate:
// its token bucket (a tenth of a second's worth) may start full, the
// controller's status writes may batch the last events of a burst, and the
// clocks of the counters read differ by a little.
bool WithinRate(double count, double seconds) {
  return count <= kDefaultRate * (seconds * 1.02 + 0.25);
}

std::string Percent(double share) { return absl::StrFormat("%.2f%%", share * 100); }
std::string PerSecond(double rate) { return absl::StrFormat("%.1f/s", rate); }

}  // namespace

absl::Status RunProbeBench(const BenchOptions& options, Report* report) {
  // Quick (the smoke run) keeps the code path and shortens everything: 500
  // forwards, --probe-period=2s so that they too ask for more than the rate
  // limit, and short windows.
  const int n = options.quick ? 500 : 10000;
  const double period = options.quick ? 2 : kDefaultPeriod;
  const std::vector<std::string> on_flags =
      options.quick ? std::vector<std::string>{"--probe-period=2s"} : std::vector<std::string>{};
  // Full: whole periods of the drift verification in both windows.
  const double window_on = options.quick ? 4 : 2 * kVerifyInterval;
  const double window_off = options.quick ? 3 : 2 * kVerifyInterval;
  const double settle = options.quick ? 0.5 : 5;
  const std::string dir = absl::StrCat(options.scratch_dir, "/probe");
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat(dir, ": ", error.message()));

  const std::string agent_binary = SiblingBinary(options, "ferry-agent");
  absl::StatusOr<std::string> off_flag = ProbesOffFlag(agent_binary);
  if (!off_flag.ok()) return off_flag.status();

  // Declared in this order so that they go in reverse: the agent, the
  // controller, the listener, then the namespaces.
  absl::StatusOr<Lab> lab = MakeLab(dir);
  if (!lab.ok()) return lab.status();
  absl::StatusOr<std::unique_ptr<ProbeListener>> listener =
      ProbeListener::Start(*lab->back, kBackendPort);
  if (!listener.ok()) return listener.status();
  absl::StatusOr<ControllerProcess> controller =
      StartController(options, dir, absl::StrCat(dir, "/data"));
  if (!controller.ok()) return controller.status();
  if (!WaitUntil([&] { return HttpGet(controller->metrics_port, "/readyz").ok(); }, 30, 0.01)) {
    return absl::UnavailableError(
        absl::StrCat("ferry-controller did not serve; see ", controller->log));
  }
  const std::string agent_log = absl::StrCat(dir, "/", kNode, ".log");
  absl::StatusOr<std::unique_ptr<Child>> agent =
      StartNodeAgent(options, *controller, *lab->front, agent_log, on_flags);
  if (!agent.ok()) return agent.status();

  const std::string manifest = absl::StrCat(dir, "/forwards.yaml");
  if (absl::Status s = WriteFile(manifest, Manifest(n)); !s.ok()) return s;
  std::unique_ptr<ferry::v1::ResourceService::Stub> stub = ResourceStub(controller->socket);
  auto watcher = std::make_unique<VerdictWatcher>(stub.get());
  if (!watcher->Alive()) {
    return absl::UnavailableError(absl::StrCat("watching forwards: ", watcher->error()));
  }

  // The burst: apply, every forward Ready, every forward probed once.
  Processes procs{(*agent)->pid(), controller->child->pid(), lab->back.get(), listener->get()};
  WaitForQuietMachine(0.9, 30);
  absl::StatusOr<Sample> before = Take(procs);
  if (!before.ok()) return before.status();
  const double t0 = NowSeconds();
  absl::StatusOr<ProcessResult> apply =
      MustRun({SiblingBinary(options, "ferryctl"), "--server", controller->socket,
               "--request-timeout", "300s", "apply", "-f", manifest},
              nullptr);
  if (!apply.ok()) return apply.status();
  if (!watcher->WaitFor([n](const VerdictWatcher::Counts& c) { return c.ready >= n; }, 300)) {
    return absl::DeadlineExceededError(absl::StrCat(
        watcher->counts().ready, " of ", n, " forwards became Ready (",
        watcher->Alive() ? "in 300 s" : watcher->error(), "); agent log: ", LogTail(agent_log)));
  }
  // Each forward is probed once after its apply, n / rate seconds in all;
  // a generous bound on top for a loaded machine.
  const double burst_bound = n / kDefaultRate * 3 + 60;
  if (!watcher->WaitFor([n](const VerdictWatcher::Counts& c) { return c.verdicts >= n; },
                        burst_bound)) {
    return absl::DeadlineExceededError(absl::StrCat(
        watcher->counts().verdicts, " of ", n, " forwards had a data-path verdict after ",
        FormatDuration(burst_bound), " (", watcher->Alive() ? "watching" : watcher->error(),
        "); agent log: ", LogTail(agent_log)));
  }
  absl::StatusOr<Sample> after = Take(procs);
  if (!after.ok()) return after.status();
  const VerdictWatcher::Counts burst = watcher->counts();
  watcher.reset();
  if (burst.failed > 0) {
    return absl::InternalError(absl::StrCat(burst.failed, " of ", n,
                                            " forwards' probes failed in a lab where all should "
                                            "pass, e.g. ",
                                            burst.failure, "; agent log: ", LogTail(agent_log)));
  }

  // The windows: each with an agent restarted into the lab as it is (the
  // kernel state the burst left, a full push on connect), so that their
  // RSS compare too. (b) the reference with probing off first, then (a)
  // the defaults once their first round is over (every forward probed
  // once more).
  auto restart = [&](const std::string& log, const std::vector<std::string>& extra) {
    const double acks = AckCount(*controller);
    (*agent)->Stop();
    if (!WaitUntil([&] { return ConnectedMetric(*controller) == 0; }, 30, 0.05)) {
      return absl::DeadlineExceededError(
          "the controller still saw node-a connected 30 s after its agent exited");
    }
    agent = StartNodeAgent(options, *controller, *lab->front, log, extra);
    if (!agent.ok()) return agent.status();
    procs.agent = (*agent)->pid();
    // The reconnect's full push, ACKed: the agent finds its kernel as the
    // last one left it.
    WaitUntil([&] { return AckCount(*controller) > acks; }, 60, 0.1);
    return absl::OkStatus();
  };

  const std::string off_log = absl::StrCat(dir, "/", kNode, "-probes-off.log");
  if (absl::Status s = restart(off_log, {*off_flag}); !s.ok()) return s;
  // The controller's status pass for "does not probe", then quiet.
  WaitQuiet({procs.agent, procs.controller}, 0.02, 60);
  usleep(static_cast<useconds_t>(settle * 1e6));
  absl::StatusOr<Window> off = Measure(procs, **agent, window_off);
  if (!off.ok()) return off.status();

  const std::string on_log = absl::StrCat(dir, "/", kNode, "-probes-on.log");
  const int64_t accepted = (*listener)->accepted();
  if (absl::Status s = restart(on_log, on_flags); !s.ok()) return s;
  if (!WaitUntil([&] { return (*listener)->accepted() - accepted >= n; }, burst_bound, 0.1)) {
    return absl::DeadlineExceededError(
        absl::StrCat("the restarted agent's first round reached the backend ",
                     (*listener)->accepted() - accepted, " times of ", n, " in ",
                     FormatDuration(burst_bound), "; agent log: ", LogTail(on_log)));
  }
  // The controller's status writes for the round's verdicts, then quiet.
  WaitQuiet({procs.controller}, 0.05, 60);
  usleep(static_cast<useconds_t>(settle * 1e6));
  absl::StatusOr<Window> on = Measure(procs, **agent, window_on);
  if (!on.ok()) return on.status();
  (*agent)->Stop();

  // The report.
  const double burst_time = burst.last_verdict - t0;
  const double burst_span = burst.last_verdict - burst.first_verdict;
  const double burst_agent_cpu = after->agent_cpu - before->agent_cpu;
  const double burst_seconds = after->at - before->at;
  const double probes_in_window = on->syns * on->seconds;
  const double probe_rate = on->syns - off->syns;
  auto per_probe = [&](double cost) {
    return probe_rate > 0 ? cost / probe_rate : 0;  // `cost` per second, over probes per second
  };

  Section section;
  section.title =
      absl::StrCat("8. Data-path probes at ", FormatCount(n), " forwards on one node: the cost");
  section.method = absl::StrCat(
      "Real processes: one `ferry-controller` on a unix socket, one `ferry-agent` (node-a) in a "
      "frontend namespace joined by a veth pair to a backend namespace, where a TCP listener on ",
      kBackendAddress, ":", kBackendPort,
      " accepts every connection and holds it until the peer closes it (no agent there). ",
      FormatCount(n), " IPForwards applied with `ferryctl apply -f`: node-a ", kFrontendAddress,
      ":", kFirstPort, "..", kFirstPort + n - 1, " → ", kBackendAddress, ":", kBackendPort,
      ", `sourceIP: Masquerade` (the backend answers the frontend's own address: no return "
      "route, no backend agent), no `spec.probe`, so the agent's own period: ",
      period, " s",
      options.quick ? " (`--probe-period=2s` in this quick run; the default is 15 s)"
                    : " (`--probe-period`'s default)",
      ", at most ", kDefaultRate, " probe starts a second (`--probe-rate`'s default)",
      ", 64 in flight. Burst: from spawning `ferryctl apply` until the "
      "controller's watch shows every forward with DataPathVerified True or False (not "
      "Unknown/NotProbed). Then two steady windows, each with the agent restarted into the lab "
      "as the burst left it (same kernel state, forwards and controller; a full push on "
      "connect), so that RSS compares too: (b) the reference, `",
      *off_flag, "`, ", FormatDuration(off->seconds),
      " once the controller settled; then (a) probing as above, ", FormatDuration(on->seconds),
      " once the restarted agent's first round reached the backend once per forward and the "
      "controller settled. CPU: utime + stime of all threads "
      "from /proc/PID/stat over the window, as a share of one core. Probes started: SYNs to "
      "port ",
      kBackendPort,
      " counted by an nft counter in the backend namespace; handshakes: connections the "
      "listener accepted. Packets: rx + tx of the backend's veth (its namespace's "
      "/sys/class/net/eth0/statistics). RSS: the agent's VmRSS at the window's end, VmHWM in "
      "brackets.");
  section.header = {"Figure",          "(a) probing", "(b) reference: probing off",
                    "cost of probing", "Target",      "Verdict"};
  section.rows.push_back({absl::StrCat("burst: apply → all ", FormatCount(n), " Ready"),
                          FormatDuration(burst.last_ready - t0), "", "", "", ""});
  section.rows.push_back(
      {"burst: apply → every forward has a verdict", FormatDuration(burst_time), "", "",
       absl::StrCat("≈ N ÷ --probe-rate = ", FormatDuration(n / kDefaultRate)), ""});
  section.rows.push_back({"burst: first → last verdict, forwards a second",
                          absl::StrCat(PerSecond(burst_span > 0 ? (n - 1) / burst_span : 0),
                                       " over ", FormatDuration(burst_span)),
                          "", "", absl::StrCat("≤ ", kDefaultRate, "/s"),
                          Verdict(WithinRate(n - 1, burst_span))});
  section.rows.push_back({"burst: verdicts True / False",
                          absl::StrCat(burst.verified, " / ", burst.failed), "", "", "", ""});
  section.rows.push_back(
      {"burst: agent CPU (the apply and the first round)",
       absl::StrCat(FormatDuration(burst_agent_cpu), " in ", FormatDuration(burst_seconds), " (",
                    Percent(burst_agent_cpu / burst_seconds), " of a core)"),
       "", "", "", ""});
  section.rows.push_back({"agent CPU, share of one core", Percent(on->agent_cpu),
                          Percent(off->agent_cpu), Percent(on->agent_cpu - off->agent_cpu), "",
                          ""});
  section.rows.push_back({"agent context switches (all threads)", PerSecond(on->agent_switches),
                          PerSecond(off->agent_switches),
                          PerSecond(on->agent_switches - off->agent_switches), "", ""});
  section.rows.push_back({"controller CPU, share of one core", Percent(on->controller_cpu),
                          Percent(off->controller_cpu),
                          Percent(on->controller_cpu - off->controller_cpu), "", ""});
  section.rows.push_back({"probes started (SYNs at the backend)", PerSecond(on->syns),
                          PerSecond(off->syns), PerSecond(probe_rate),
                          absl::StrCat("≤ ", kDefaultRate, "/s (--probe-rate)"),
                          Verdict(WithinRate(probes_in_window, on->seconds))});
  section.rows.push_back({"handshakes accepted by the backend", PerSecond(on->accepted),
                          PerSecond(off->accepted), PerSecond(on->accepted - off->accepted), "",
                          ""});
  section.rows.push_back({"packets on the backend's veth (rx + tx)", PerSecond(on->packets),
                          PerSecond(off->packets), PerSecond(on->packets - off->packets), "", ""});
  section.rows.push_back(
      {"agent RSS (peak)",
       absl::StrCat(FormatKib(on->agent_rss_kib), " (", FormatKib(on->agent_peak_kib), ")"),
       absl::StrCat(FormatKib(off->agent_rss_kib), " (", FormatKib(off->agent_peak_kib), ")"),
       absl::StrCat(FormatKib(on->agent_rss_kib - off->agent_rss_kib)), "", ""});
  section.rows.push_back(
      {"per probe: agent CPU, context switches, packets", "", "",
       probe_rate > 0 ? absl::StrFormat("%s, %.1f switches, %.2f packets",
                                        FormatDuration(per_probe(on->agent_cpu - off->agent_cpu)),
                                        per_probe(on->agent_switches - off->agent_switches),
                                        per_probe(on->packets - off->packets))
                      : "no probes in window (a)",
       "", ""});
  section.notes.push_back(absl::StrCat(
      "Each forward is due every ", period, " s, so ", FormatCount(n), " forwards ask for ",
      PerSecond(n / period), "; ",
      n / period > kDefaultRate
          ? absl::StrCat("the rate limit holds the node to ", kDefaultRate,
                         "/s, and each forward is probed about every ",
                         FormatDuration(n / kDefaultRate),
                         ": the period stretches rather than the packet rate growing with the "
                         "node's forwards")
          : "the rate limit is not reached at this N",
      ". ", FormatCount(probes_in_window), " probes were started in window (a)."));
  section.notes.push_back(absl::StrCat(
      "The agent's CPU and context switches are paid per probe, so they follow the probe rate; "
      "once --probe-rate caps it (at 10,000 forwards on the defaults), more forwards on the "
      "node cost no more per second. Memory is paid per forward: the restarted agent that "
      "probes holds ",
      FormatKib(on->agent_rss_kib - off->agent_rss_kib),
      " more than the one that does not (the probe schedule, the verdicts, two threads; ",
      FormatCount((on->agent_rss_kib - off->agent_rss_kib) * 1024.0 / n),
      " bytes per forward if all of it were per forward). Each probe is 4 packets on the "
      "backend's link: SYN, SYN-ACK, ACK and the probe's RST, after which the listener closes "
      "its end without a packet."));
  report->Add(std::move(section));
  return absl::OkStatus();
}

}  // namespace ferry::bench
