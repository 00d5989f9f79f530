// 5: the agent's resources without a controller: RSS of a process holding
// a Reconciler with N forwards committed, and CPU while idle. Each N runs in
// a fresh child process inside its own namespace, so allocator state left
// by earlier benchmarks cannot hide or inflate the figures.

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "node-agent/client/address_monitor.h"
#include "tests/bench/bench.h"
#include "tests/bench/bench_ferry.h"
#include "tests/bench/bench_forwards.h"
#include "tests/bench/bench_netns.h"
#include "tests/bench/bench_util.h"

namespace ferry::bench {
namespace {

// Idle means no polling: allow a few wake-ups' worth of CPU.
constexpr double kIdleCpuTargetSeconds = 0.010;

using Figures = std::map<std::string, double>;

Figures ParseFigures(const std::string &line) {
  Figures out;
  for (absl::string_view field : absl::StrSplit(line, ' ', absl::SkipWhitespace())) {
    std::vector<std::string> kv = absl::StrSplit(field, absl::MaxSplits('=', 1));
    double v = 0;
    if (kv.size() == 2 && absl::SimpleAtod(kv[1], &v)) out[kv[0]] = v;
  }
  return out;
}

}  // namespace

int RunResourcesChild(int forwards, double idle_seconds) {
  const int64_t rss_start = ReadStatusKib("VmRSS");
  ferry::v1::NodeConfig config = SyntheticConfig(forwards);
  const int64_t rss_config = ReadStatusKib("VmRSS");
  absl::StatusOr<std::unique_ptr<FerryNode>> node = StartFerryNode();
  if (!node.ok()) {
    std::fprintf(stderr, "%s\n", node.status().ToString().c_str());
    return 1;
  }
  if (absl::Status s = (*node)->reconciler->Apply(config); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  const int64_t rss_applied = ReadStatusKib("VmRSS");
  const int64_t hwm = ReadStatusKib("VmHWM");

  // The agent's idle set: the address monitor's thread waiting on netlink,
  // the reconciler holding its committed state and waiting for a push.
  agent::AddressMonitor monitor([](const std::vector<ferry::v1::NodeAddress> &) {});
  if (absl::Status s = monitor.Start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  const CpuTime c0 = ProcessCpu();
  const double t0 = NowSeconds();
  absl::SleepFor(absl::Seconds(idle_seconds));  // the measurement window
  const CpuTime c1 = ProcessCpu();
  const double t1 = NowSeconds();
  monitor.Stop();
  std::printf(
      "rss_start=%lld rss_config=%lld rss_applied=%lld hwm=%lld "
      "idle_cpu=%.6f idle_wall=%.3f "
      "idle_switches=%lld\n",
      static_cast<long long>(rss_start), static_cast<long long>(rss_config),
      static_cast<long long>(rss_applied), static_cast<long long>(hwm),
      (c1.user - c0.user) + (c1.sys - c0.sys), t1 - t0,
      static_cast<long long>(c1.switches - c0.switches));
  return 0;
}

absl::Status RunResourcesBench(const BenchOptions &options, Report *report) {
  const std::vector<int> sizes =
      options.quick ? std::vector<int>{1000, 10000} : std::vector<int>{1000, 100000};
  const double idle = options.quick ? 1 : 5;
  Section sec;
  sec.title = "5. Agent resources";
  sec.method = absl::StrCat(
      "A fresh child process per N, inside its own "
      "namespace: VmRSS before anything, after "
      "building the NodeConfig (the agent keeps the last "
      "push), after `Reconciler::Apply` "
      "committed it through the netlink backends; then, "
      "with the address monitor started as "
      "the agent does, CPU time (getrusage, whole "
      "process) and context switches over ",
      idle, " s idle.");
  sec.header = {"Forwards",    "RSS at start", "+ NodeConfig", "+ committed state",
                "per forward", "peak RSS",     "idle CPU",     "wake-ups",
                "Target",      "Verdict"};
  bool all_idle = true;
  for (int n : sizes) {
    absl::StatusOr<std::unique_ptr<Netns>> ns = Netns::Create("res");
    if (!ns.ok()) return ns.status();
    absl::StatusOr<ProcessResult> r = MustRun(
        {options.self, absl::StrCat("--child_forwards=", n), absl::StrCat("--child_idle=", idle)},
        ns->get());
    if (!r.ok()) return r.status();
    Figures f = ParseFigures(r->output.substr(r->output.rfind("rss_start=")));
    if (f.size() < 7) return absl::InternalError(absl::StrCat("child said: ", r->output));
    const double idle_cpu = f["idle_cpu"];
    const bool met = idle_cpu < kIdleCpuTargetSeconds;
    all_idle = all_idle && met;
    const double per_forward = (f["rss_applied"] - f["rss_start"]) * 1024 / n;
    sec.rows.push_back({FormatCount(n), FormatKib(f["rss_start"]),
                        absl::StrCat("+", FormatKib(f["rss_config"] - f["rss_start"])),
                        absl::StrCat("+", FormatKib(f["rss_applied"] - f["rss_config"])),
                        absl::StrCat(FormatCount(per_forward), " B"), FormatKib(f["hwm"]),
                        absl::StrCat(FormatDuration(idle_cpu), " / ", f["idle_wall"], " s"),
                        absl::StrCat(f["idle_switches"]), "idle CPU < 10 ms", Verdict(met)});
  }
  sec.notes.push_back(
      "Per forward counts everything the process gained from "
      "the start: the NodeConfig, the "
      "reconciler's committed NatState and the NAT backend's "
      "mirror of the kernel (two copies "
      "of the same elements, by design: the mirror turns adds "
      "of existing keys into "
      "replaces without reading the kernel back).");
  if (!all_idle) {
    sec.notes.push_back(
        "MISSED: something runs while idle; the wake-up count shows how often. "
        "The agent "
        "should block on the netlink socket and the gRPC stream only.");
  }
  report->Add(std::move(sec));
  return absl::OkStatus();
}

}  // namespace ferry::bench
