// 7: the path a user walks, with the real processes. The seed's lab (node-a
// and node-b in their own namespaces, a wireguard-go tunnel between them,
// an agent on each, the controller on a unix socket); `ferryctl apply -f`
// of one big manifest, then `ferryctl wait --all` until every forward is
// Ready, beside `nft -f` of the same map in the same run; one change among
// them (two ferryctl processes); peak RSS of ferryctl and the controller;
// the controller's stop on SIGTERM with both agents connected.

#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/bench/bench.h"
#include "tests/bench/bench_forwards.h"
#include "tests/bench/bench_netns.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/controller_process.h"

namespace ferry::bench {
namespace {

constexpr double kTargetRatio = 2.5;
constexpr double kTargetOneChange = 0.300;
constexpr int64_t kTargetCtlKib = 150 * 1024;
constexpr int64_t kTargetControllerKib = 256 * 1024;
constexpr double kTargetStop = 1.0;
constexpr int kNftRuns = 3;
constexpr int kPortsPerAddress = 50000;

// Forward 0 is the seed's: node-a:80 to node-b's tunnel address, the
// client's address preserved. The rest are Masquerade forwards on node-a's
// frontend addresses to the same backend (another port: one backend port
// is either preserved or masqueraded), so node-a's map grows to N.
struct Forward {
  std::string name;
  std::string address;
  int port = 0;
  int target_port = 8080;
  bool preserve = false;
};

Forward ForwardAt(int i) {
  Forward f;
  f.name = absl::StrFormat("e2e-%06d", i);
  if (i == 0) {
    f.address = "192.0.2.1";
    f.port = 80;
    f.preserve = true;
    return f;
  }
  f.address = absl::StrCat("10.64.0.", 1 + i / kPortsPerAddress);
  f.port = 1024 + i % kPortsPerAddress;
  f.target_port = 8081;  // the seed's Preserve forward owns 8080
  return f;
}

std::string Yaml(const Forward& f) {
  std::string out = absl::StrFormat(
      "---\napiVersion: ferry.dev/v1\nkind: IPForward\nmetadata:\n  name: %s\n  labels:\n"
      "    app: e2e\nspec:\n  frontend:\n    nodeName: node-a\n    address: %s\n  backend:\n",
      f.name, f.address);
  if (f.preserve) absl::StrAppend(&out, "    nodeName: node-b\n");
  absl::StrAppend(&out, "    address: 10.8.0.2\n  ports:\n  - protocol: TCP\n    port: ", f.port,
                  "\n    targetPort: ", f.target_port, "\n");
  absl::StrAppend(&out, "  sourceIP: ", f.preserve ? "Preserve" : "Masquerade", "\n");
  return out;
}

// node-a's map as the agent builds it, for the `nft -f` reference.
ferry::v1::NodeConfig FrontendConfig(int n) {
  ferry::v1::NodeConfig config;
  config.set_version("v1");
  config.set_ipv4_forwarding(true);
  for (int i = 0; i < n; ++i) {
    const Forward f = ForwardAt(i);
    ferry::v1::DnatRule* r = config.add_dnat();
    r->set_forward(f.name);
    r->set_generation(1);
    r->set_frontend_address(f.address);
    r->set_protocol(ferry::v1::TCP);
    r->set_port(f.port);
    r->set_backend_address("10.8.0.2");
    r->set_target_port(f.target_port);
    r->set_masquerade(!f.preserve);
  }
  return config;
}

struct Lab {
  std::unique_ptr<Netns> a;
  std::unique_ptr<Netns> b;
  std::unique_ptr<Child> wg_a;  // stopped before the namespaces go
  std::unique_ptr<Child> wg_b;
};

absl::StatusOr<std::string> Run(const std::vector<std::string>& argv, const Netns* ns,
                                const std::string& stdin_path = "") {
  absl::StatusOr<ProcessResult> r = MustRun(argv, ns, stdin_path);
  if (!r.ok()) return r.status();
  std::string out = r->output;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// node-a 192.0.2.1 and node-b 192.0.2.2 on a veth pair; wireguard-go
// 10.8.0.1 <-> 10.8.0.2 over it, node-b's peer taking any source (replies
// to clients go back through node-a); node-a's frontend addresses for the
// Masquerade forwards on its end of the pair.
absl::StatusOr<Lab> MakeLab(const std::string& dir, int n) {
  Lab lab;
  absl::StatusOr<std::unique_ptr<Netns>> a = Netns::Create("e2ea");
  if (!a.ok()) return a.status();
  lab.a = *std::move(a);
  absl::StatusOr<std::unique_ptr<Netns>> b = Netns::Create("e2eb");
  if (!b.ok()) return b.status();
  lab.b = *std::move(b);
  std::string batch_a = "link set lo up\nlink add eth0 type veth peer name eth0 netns " +
                        lab.b->name() + "\naddr add 192.0.2.1/24 dev eth0\n";
  for (int k = 0; k <= (n - 1) / kPortsPerAddress; ++k) {
    absl::StrAppend(&batch_a, "addr add 10.64.0.", k + 1, "/32 dev eth0\n");
  }
  absl::StrAppend(&batch_a, "link set eth0 up\n");
  if (absl::Status s = IpBatch(*lab.a, dir, batch_a); !s.ok()) return s;
  if (absl::Status s = IpBatch(
          *lab.b, dir, "link set lo up\naddr add 192.0.2.2/24 dev eth0\nlink set eth0 up\n");
      !s.ok()) {
    return s;
  }
  // One end of the tunnel. wireguard-go's control socket path is global:
  // one interface name per host.
  struct TunnelEnd {
    const Netns* ns;
    std::string wg;
    const char* address;   // on the tunnel
    const char* underlay;  // on the veth pair
    int port;
    const char* allowed_ips;  // what this end accepts from its peer
    std::unique_ptr<Child>* child;
    std::string key_file;    // filled in below
    std::string public_key;  // filled in below
  };
  TunnelEnd ends[2] = {
      {lab.a.get(), absl::StrCat("wga", getpid() % 100000), "10.8.0.1/24", "192.0.2.1", 51820,
       "10.8.0.2/32", &lab.wg_a, "", ""},
      {lab.b.get(), absl::StrCat("wgb", getpid() % 100000), "10.8.0.2/24", "192.0.2.2", 51821,
       "0.0.0.0/0", &lab.wg_b, "", ""},
  };
  std::filesystem::create_directories("/var/run/wireguard");
  for (TunnelEnd& end : ends) {
    absl::StatusOr<std::unique_ptr<Child>> wg =
        Child::Start({"/usr/bin/env", "WG_PROCESS_FOREGROUND=1", "wireguard-go", end.wg},
                     end.ns->fd(), absl::StrCat(dir, "/", end.wg, ".log"));
    if (!wg.ok()) return wg.status();
    *end.child = *std::move(wg);
    const std::string sock = absl::StrCat("/var/run/wireguard/", end.wg, ".sock");
    if (!WaitUntil([&] { return std::filesystem::exists(sock); }, 10, 0.01)) {
      return absl::UnavailableError(absl::StrCat("wireguard-go ", end.wg, " did not start"));
    }
    absl::StatusOr<std::string> key = Run({"wg", "genkey"}, nullptr);
    if (!key.ok()) return key.status();
    end.key_file = absl::StrCat(dir, "/", end.wg, ".key");
    if (absl::Status s = WriteFile(end.key_file, *key + "\n"); !s.ok()) return s;
    absl::StatusOr<std::string> pub = Run({"wg", "pubkey"}, nullptr, end.key_file);
    if (!pub.ok()) return pub.status();
    end.public_key = *pub;
  }
  for (int i = 0; i < 2; ++i) {
    const TunnelEnd& self = ends[i];
    const TunnelEnd& peer = ends[1 - i];
    absl::StatusOr<std::string> set =
        Run({"wg", "set", self.wg, "listen-port", absl::StrCat(self.port), "private-key",
             self.key_file, "peer", peer.public_key, "endpoint",
             absl::StrCat(peer.underlay, ":", peer.port), "allowed-ips", self.allowed_ips},
            self.ns);
    if (!set.ok()) return set.status();
    if (absl::Status s = IpBatch(*self.ns, dir,
                                 absl::StrCat("addr add ", self.address, " dev ", self.wg,
                                              "\nlink set ", self.wg, " up\n"));
        !s.ok()) {
      return s;
    }
  }
  return lab;
}

struct Figures {
  double total = 0;  // apply spawned -> wait exited
  ProcessResult apply;
  ProcessResult wait;
  std::vector<double> nft;
  int64_t controller_peak_kib = 0;
  int64_t controller_rss_kib = 0;
  std::vector<double> change_total, change_apply, change_wait;
  double stop = 0;
};

}  // namespace

absl::Status RunE2eBench(const BenchOptions& options, Report* report) {
  const int n = options.quick ? 10000 : 100000;
  const int changes = options.quick ? 5 : std::min(options.changes, 30);
  const std::string dir = absl::StrCat(options.scratch_dir, "/e2e");
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat(dir, ": ", error.message()));

  absl::StatusOr<Lab> lab = MakeLab(dir, n);
  if (!lab.ok()) return lab.status();
  absl::StatusOr<ControllerProcess> controller =
      StartController(options, dir, absl::StrCat(dir, "/data"));
  if (!controller.ok()) return controller.status();
  if (!WaitUntil([&] { return HttpGet(controller->metrics_port, "/readyz").ok(); }, 30, 0.01)) {
    return absl::UnavailableError(
        absl::StrCat("ferry-controller did not serve; see ", controller->log));
  }
  absl::StatusOr<std::unique_ptr<Child>> agent_a =
      StartAgent(options, *controller, lab->a->fd(), "node-a", dir);
  if (!agent_a.ok()) return agent_a.status();
  absl::StatusOr<std::unique_ptr<Child>> agent_b =
      StartAgent(options, *controller, lab->b->fd(), "node-b", dir);
  if (!agent_b.ok()) return agent_b.status();
  const std::string ferryctl = SiblingBinary(options, "ferryctl");
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {ferryctl, "--server", controller->socket});
    return args;
  };
  // Both agents' Nodes are connected before the user applies anything.
  for (const char* node : {"node-a", "node-b"}) {
    // The Node object exists once the agent's Hello was written back.
    WaitUntil(
        [&] {
          absl::StatusOr<ProcessResult> r =
              RunProcess(ctl({"get", absl::StrCat("node/", node)}), nullptr);
          return r.ok() && r->exit_code == 0;
        },
        30, 0.05);
    absl::StatusOr<ProcessResult> r = RunProcess(
        ctl({"wait", absl::StrCat("node/", node), "--for=condition=Connected", "--timeout=30s"}),
        nullptr);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) {
      return absl::UnavailableError(
          absl::StrCat(node, " did not connect: ", r->output,
                       "; agent log: ", LogTail(absl::StrCat(dir, "/", node, ".log"))));
    }
  }

  Figures fig;
  const std::string manifest = absl::StrCat(dir, "/forwards.yaml");
  {
    std::string text;
    text.reserve(static_cast<size_t>(n) * 300);
    for (int i = 0; i < n; ++i) absl::StrAppend(&text, Yaml(ForwardAt(i)));
    if (absl::Status s = WriteFile(manifest, text); !s.ok()) return s;
  }
  WaitForQuietMachine(0.9, 30);
  const double t0 = NowSeconds();
  // A bulk apply is one transaction; on a loaded machine it may outlast
  // ferryctl's default per-request timeout, which is not what is measured.
  absl::StatusOr<ProcessResult> apply =
      MustRun(ctl({"--request-timeout", "300s", "apply", "-f", manifest}), nullptr);
  if (!apply.ok()) return apply.status();
  absl::StatusOr<ProcessResult> wait =
      RunProcess(ctl({"wait", "ipforwards", "--all", "--for=condition=Ready", "--timeout=300s"}),
                 nullptr, "", 320);
  if (!wait.ok()) return wait.status();
  fig.total = NowSeconds() - t0;
  if (wait->exit_code != 0) {
    return absl::DeadlineExceededError(
        absl::StrCat("not every forward became Ready: ",
                     wait->output.substr(wait->output.size() > 400 ? wait->output.size() - 400 : 0),
                     "; controller log: ", LogTail(controller->log)));
  }
  fig.apply = *apply;
  fig.wait = *wait;
  fig.controller_peak_kib = controller->child->PeakRssKib();
  fig.controller_rss_kib = controller->child->RssKib();

  // One change among N: a new target port for one forward, then wait for
  // it to be Ready at its new generation — two processes, as a user types.
  for (int k = 0; k < changes; ++k) {
    Forward f = ForwardAt(1 + k);
    f.target_port = 9000 + k;
    const std::string one = absl::StrCat(dir, "/one.yaml");
    if (absl::Status s = WriteFile(one, Yaml(f)); !s.ok()) return s;
    const double c0 = NowSeconds();
    absl::StatusOr<ProcessResult> a = MustRun(ctl({"apply", "-f", one}), nullptr);
    if (!a.ok()) return a.status();
    absl::StatusOr<ProcessResult> w = MustRun(
        ctl({"wait", absl::StrCat("ipforward/", f.name), "--for=condition=Ready", "--timeout=30s"}),
        nullptr);
    if (!w.ok()) return w.status();
    fig.change_total.push_back(NowSeconds() - c0);
    fig.change_apply.push_back(a->wall);
    fig.change_wait.push_back(w->wall);
  }

  // The reference, after Ferry's run, on a quiet machine: the same map.
  const std::string ruleset = absl::StrCat(dir, "/frontend.nft");
  if (absl::Status s = WriteFile(ruleset, NftRuleset(FrontendConfig(n))); !s.ok()) return s;
  for (int r = 0; r < kNftRuns; ++r) {
    absl::StatusOr<std::unique_ptr<Netns>> ns = Netns::Create("e2enft");
    if (!ns.ok()) return ns.status();
    WaitForQuietMachine(0.9, 10);
    absl::StatusOr<ProcessResult> nft = MustRun({"nft", "-f", ruleset}, ns->get());
    if (!nft.ok()) return nft.status();
    fig.nft.push_back(nft->wall);
  }

  // Stop: SIGTERM with both agents' streams open, until the process exited.
  const pid_t pid = controller->child->pid();
  const double s0 = NowSeconds();
  ::kill(pid, SIGTERM);
  if (!WaitUntil([&] { return !controller->child->Running(); }, 30, 0.001)) {
    return absl::DeadlineExceededError("the controller did not exit within 30 s of SIGTERM");
  }
  fig.stop = NowSeconds() - s0;
  (*agent_a)->Stop();
  (*agent_b)->Stop();
  lab->wg_a->Stop();
  lab->wg_b->Stop();

  const double nft = Median(fig.nft);
  const double ratio = fig.total / nft;
  Section section;
  section.title = absl::StrCat("7. The user's path: ferryctl apply of ", FormatCount(n),
                               " forwards → all Ready");
  section.method = absl::StrCat(
      "The seed's lab: node-a and node-b in their own namespaces joined by a veth pair, a "
      "wireguard-go tunnel between them (10.8.0.1 ↔ 10.8.0.2), a `ferry-agent` in each, one "
      "`ferry-controller` (SQLite, synchronous=FULL) on a unix socket; all are real processes. "
      "One manifest of ",
      FormatCount(n),
      " IPForwards (the seed's Preserve forward node-a:80 → node-b 10.8.0.2:8080, the rest "
      "Masquerade forwards on node-a's frontend addresses to the same backend's port 8081). Timed "
      "from "
      "spawning `ferryctl apply -f` until `ferryctl wait ipforwards --all --for=condition=Ready` "
      "exits 0 (Ready: every involved node ACKed a config holding the forward's generation, and "
      "the controller published that status, which ferryctl sees as a watch event). The reference "
      "is `nft -f` of node-a's same map, the same "
      "table, chains and comments, in a fresh namespace, median of ",
      kNftRuns,
      ". One change: a new targetPort for one forward, `ferryctl apply -f` of it, then `ferryctl "
      "wait ipforward/NAME --for=condition=Ready` (Ready at the new generation): two processes. "
      "Peak RSS: VmHWM of ferryctl (read while it runs; its ru_maxrss would include the "
      "benchmark's own peak, which the kernel carries across fork and exec) and of the controller. "
      "Stop: SIGTERM to "
      "the controller with both agents connected, until it exited.");
  section.header = {"Figure", "Ferry", "Reference", "Target", "Verdict"};
  section.rows.push_back({"apply → all Ready", FormatDuration(fig.total),
                          absl::StrCat("`nft -f`: ", FormatDuration(nft)),
                          absl::StrCat("≤ ", kTargetRatio, "× nft"), ""});
  section.rows.push_back({"ratio to `nft -f`", FormatRatio(ratio), "1.00×",
                          absl::StrCat("≤ ", kTargetRatio, "×"), Verdict(ratio <= kTargetRatio)});
  section.rows.push_back({"of which `ferryctl apply` (parse, send, commit, exit)",
                          absl::StrFormat("%s wall, %s user CPU", FormatDuration(fig.apply.wall),
                                          FormatDuration(fig.apply.user)),
                          "", "", ""});
  section.rows.push_back(
      {"of which `ferryctl wait --all`", FormatDuration(fig.wait.wall), "", "", ""});
  section.rows.push_back(
      {"ferryctl apply peak RSS", FormatKib(fig.apply.peak_hwm_kib),
       absl::StrCat("manifest ", FormatKib(std::filesystem::file_size(manifest) / 1024)),
       "≤ 150 MiB", Verdict(fig.apply.peak_hwm_kib <= kTargetCtlKib)});
  section.rows.push_back({"ferryctl wait peak RSS", FormatKib(fig.wait.peak_hwm_kib), "", "", ""});
  section.rows.push_back(
      {absl::StrCat("controller peak RSS holding ", FormatCount(n)),
       FormatKib(fig.controller_peak_kib),
       absl::StrCat("after: ", FormatKib(fig.controller_rss_kib)), "≤ 256 MiB",
       // The target is for 100k; a smaller run has no verdict.
       n < 100000 ? "" : Verdict(fig.controller_peak_kib <= kTargetControllerKib)});
  const double change_median = Median(fig.change_total);
  section.rows.push_back({absl::StrCat("one change among ", FormatCount(n),
                                       ": apply + wait, median (", changes, " changes)"),
                          FormatDuration(change_median),
                          absl::StrCat("apply ", FormatDuration(Median(fig.change_apply)),
                                       ", wait ", FormatDuration(Median(fig.change_wait))),
                          "< 300 ms", Verdict(change_median < kTargetOneChange)});
  section.rows.push_back(
      {"one change: slowest", FormatDuration(Percentile(fig.change_total, 100)), "", "", ""});
  section.rows.push_back({"controller stop on SIGTERM, 2 agents connected",
                          FormatDuration(fig.stop), "", "≤ 1 s", Verdict(fig.stop <= kTargetStop)});
  report->Add(std::move(section));
  return absl::OkStatus();
}

}  // namespace ferry::bench
