// 2: new-connection rate through a DNAT frontend holding 1 forward, N
// forwards in Ferry's map, and N linear iptables DNAT rules.
//
//   client ns --veth-- frontend ns (one per case) --veth-- backend ns
//   10.210.k.2         10.210.k.1 | 10.220.k.1              10.220.k.2:8080
//
// The client connects to 10.210.k.1:80; the frontend DNATs it to the
// backend, whose replies route back through the same frontend.

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/bench/bench.h"
#include "tests/bench/bench_ferry.h"
#include "tests/bench/bench_forwards.h"
#include "tests/bench/bench_netns.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/conn_load.h"

namespace ferry::bench {
namespace {

constexpr double kTargetRatio = 0.95;
constexpr uint16_t kFrontPort = 80;
constexpr uint16_t kBackendPort = 8080;
constexpr int kClientThreads = 2;
constexpr int kInFlightPerThread = 32;

enum class Kind { kFerry, kIptables };

struct Case {
  std::string label;
  Kind kind = Kind::kFerry;
  int forwards = 1;  // including the one the client uses
  std::unique_ptr<Netns> frontend;
  double program_seconds = 0;  // time to load the frontend's rules
  std::vector<double> rates;
  int64_t failed = 0;
};

std::string FrontAddr(int k) { return absl::StrCat("10.210.", k, ".1"); }
std::string BackAddr(int k) { return absl::StrCat("10.220.", k, ".2"); }

absl::Status Ip(const Netns& ns, const std::string& args) {
  std::vector<std::string> argv = {"ip", "-n", ns.name()};
  for (absl::string_view a : absl::StrSplit(args, ' ')) argv.emplace_back(a);
  return MustRun(argv, nullptr).status();
}

// The links and routes of case k, never touching the root namespace: each
// veth is created inside one namespace with its peer sent to the other.
absl::Status Wire(int k, const Netns& client, const Netns& front, const Netns& back) {
  const std::string c = absl::StrCat("c", k), b = absl::StrCat("b", k);
  for (const std::string& cmd : {
           absl::StrCat("link add ", c, " type veth peer name f0 netns ", front.name()),
           absl::StrCat("addr add 10.210.", k, ".2/24 dev ", c),
           absl::StrCat("link set ", c, " up"),
       }) {
    if (absl::Status s = Ip(client, cmd); !s.ok()) return s;
  }
  for (const std::string& cmd : {
           std::string("link set lo up"),
           absl::StrCat("addr add ", FrontAddr(k), "/24 dev f0"),
           std::string("link set f0 up"),
           absl::StrCat("link add f1 type veth peer name ", b, " netns ", back.name()),
           absl::StrCat("addr add 10.220.", k, ".1/24 dev f1"),
           std::string("link set f1 up"),
       }) {
    if (absl::Status s = Ip(front, cmd); !s.ok()) return s;
  }
  for (const std::string& cmd : {
           absl::StrCat("addr add ", BackAddr(k), "/24 dev ", b),
           absl::StrCat("link set ", b, " up"),
           absl::StrCat("route add 10.210.", k, ".0/24 via 10.220.", k, ".1"),
       }) {
    if (absl::Status s = Ip(back, cmd); !s.ok()) return s;
  }
  return WriteSysctl(front, "net.ipv4.ip_forward", "1");
}

// `fillers` synthetic forwards, then the one the client uses, last.
ferry::v1::NodeConfig FrontendConfig(int k, int fillers) {
  ferry::v1::NodeConfig config = SyntheticConfig(fillers);
  ferry::v1::DnatRule* rule = config.add_dnat();
  rule->set_forward("bench-target");
  rule->set_generation(1);
  rule->set_frontend_address(FrontAddr(k));
  rule->set_protocol(ferry::v1::TCP);
  rule->set_port(kFrontPort);
  rule->set_backend_address(BackAddr(k));
  rule->set_target_port(kBackendPort);
  return config;
}

absl::Status Program(int k, Case& c, const std::string& scratch_dir) {
  const ferry::v1::NodeConfig config = FrontendConfig(k, c.forwards - 1);
  if (c.kind == Kind::kFerry) {
    absl::StatusOr<std::unique_ptr<NetnsEntry>> entry = NetnsEntry::Enter(*c.frontend);
    if (!entry.ok()) return entry.status();
    const double t0 = NowSeconds();
    absl::StatusOr<std::unique_ptr<FerryNode>> node = StartFerryNode();
    if (!node.ok()) return node.status();
    if (absl::Status s = (*node)->reconciler->Apply(config); !s.ok()) return s;
    c.program_seconds = NowSeconds() - t0;
    return absl::OkStatus();
  }
  const std::string path = absl::StrCat(scratch_dir, "/iptables-", c.forwards, ".rules");
  if (absl::Status s = WriteFile(path, IptablesRestore(config)); !s.ok()) return s;
  absl::StatusOr<ProcessResult> r = MustRun({"iptables-restore"}, c.frontend.get(), path);
  std::remove(path.c_str());
  if (!r.ok()) return r.status();
  c.program_seconds = r->wall;
  return absl::OkStatus();
}

sockaddr_in Target(int k) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(kFrontPort);
  inet_pton(AF_INET, FrontAddr(k).c_str(), &addr.sin_addr);
  return addr;
}

bool HaveIptables() {
  absl::StatusOr<ProcessResult> r = RunProcess({"iptables-restore", "--version"}, nullptr, "", 10);
  return r.ok() && r->exit_code == 0;
}

}  // namespace

absl::Status RunDatapathBench(const BenchOptions& options, Report* report) {
  const int big = options.quick ? 10000 : 100000;
  // Each run is cut into short slices, the cases alternating slice by
  // slice: this machine's load drifts over seconds (other tenants, the
  // kernel's own work), and two cases measured within a second of each
  // other see the same load, so the ratio of a slice pair is stable where
  // the rates are not.
  constexpr int kSlicesPerRun = 5;
  const int rounds = (options.quick ? 1 : options.runs) * kSlicesPerRun;
  const double window = (options.quick ? 1 : options.seconds) / kSlicesPerRun;
  const bool iptables = HaveIptables();

  std::vector<Case> cases(iptables ? 3 : 2);
  cases[0].label = "Ferry map, 1 forward";
  cases[0].kind = Kind::kFerry;
  cases[0].forwards = 1;
  cases[1].label = absl::StrCat("Ferry map, ", FormatCount(big), " forwards");
  cases[1].kind = Kind::kFerry;
  cases[1].forwards = big;
  if (iptables) {
    cases[2].label = absl::StrCat("iptables, ", FormatCount(big), " linear DNAT rules");
    cases[2].kind = Kind::kIptables;
    cases[2].forwards = big;
  }
  absl::StatusOr<std::unique_ptr<Netns>> client = Netns::Create("cli");
  if (!client.ok()) return client.status();
  absl::StatusOr<std::unique_ptr<Netns>> back = Netns::Create("srv");
  if (!back.ok()) return back.status();
  if (absl::Status s = Ip(**client, "link set lo up"); !s.ok()) return s;
  // A wide port range so client ports recycle slowly.
  if (absl::Status s = WriteSysctl(**client, "net.ipv4.ip_local_port_range", "1024 65000");
      !s.ok()) {
    return s;
  }
  for (size_t k = 0; k < cases.size(); ++k) {
    absl::StatusOr<std::unique_ptr<Netns>> front = Netns::Create("fe");
    if (!front.ok()) return front.status();
    cases[k].frontend = *std::move(front);
    if (absl::Status s = Wire(k, **client, *cases[k].frontend, **back); !s.ok()) return s;
    if (absl::Status s = Program(k, cases[k], options.scratch_dir); !s.ok()) return s;
  }
  absl::StatusOr<std::unique_ptr<TinyHttpServer>> server =
      TinyHttpServer::Start(**back, kBackendPort);
  if (!server.ok()) return server.status();

  // Warm up every path (ARP, caches, conntrack), then alternate the cases.
  for (size_t k = 0; k < cases.size(); ++k) {
    LoadResult r = RunConnectionLoad(**client, Target(k), kClientThreads, kInFlightPerThread,
                                     options.quick ? 0.3 : 1);
    if (r.completed == 0) {
      return absl::InternalError(absl::StrCat("no connection got through case \"", cases[k].label,
                                              "\" (", r.failed, " failed)"));
    }
  }
  for (int round = 0; round < rounds; ++round) {
    // Rotate the order too (A B C, B C A, ...), so no case always runs first.
    for (size_t j = 0; j < cases.size(); ++j) {
      const size_t k = (j + round) % cases.size();
      LoadResult r =
          RunConnectionLoad(**client, Target(k), kClientThreads, kInFlightPerThread, window);
      cases[k].rates.push_back(r.rate());
      cases[k].failed += r.failed;
    }
  }
  server->reset();

  // Rates of one round ran seconds apart, under the same load from the rest
  // of the machine: the median of per-round ratios is the robust figure.
  auto paired_ratio = [&](size_t k) {
    std::vector<double> ratios;
    for (int r = 0; r < rounds; ++r) ratios.push_back(cases[k].rates[r] / cases[0].rates[r]);
    return Median(ratios);
  };
  const double b_ratio = paired_ratio(1);
  Section sec;
  sec.title = "2. Data path: new connections per second through a DNAT frontend";
  sec.method = absl::StrCat(
      "Client, frontend and backend namespaces joined by veth pairs. Each new TCP connection "
      "(connect, GET, read the answer, close) goes to the frontend's address and is DNATed to a "
      "tiny HTTP server in the backend namespace, so only the frontend's lookup differs between "
      "cases. Load: ",
      kClientThreads, " threads × ", kInFlightPerThread, " connections in flight, in slices of ",
      window, " s: the cases alternate slice by slice (rotating which goes first), ", rounds,
      " slices each. \"vs 1 forward\" is the median over slices of the rate divided by the "
      "1-forward rate of the same round of slices. The forward the client uses is one of the map's "
      "elements, and the "
      "LAST iptables rule, so every new connection walks all of them.");
  sec.header = {"Frontend holds", "conns/s (median)", "vs 1 forward", "slices: min – max conns/s",
                "failed",         "Target",           "Verdict"};
  for (size_t k = 0; k < cases.size(); ++k) {
    std::string target, verdict;
    if (k == 1) {
      target = absl::StrCat("≥ ", FormatRatio(kTargetRatio));
      verdict = Verdict(b_ratio >= kTargetRatio);
    } else if (k == 2) {
      target = "reference";
    }
    const auto [lo, hi] = std::minmax_element(cases[k].rates.begin(), cases[k].rates.end());
    sec.rows.push_back({cases[k].label, FormatCount(Median(cases[k].rates)),
                        FormatRatio(paired_ratio(k)),
                        absl::StrCat(FormatCount(*lo), " – ", FormatCount(*hi)),
                        absl::StrCat(cases[k].failed), target, verdict});
  }
  for (size_t k = 1; k < cases.size(); ++k) {
    sec.notes.push_back(absl::StrCat(
        "Loading the frontend of \"", cases[k].label,
        "\": ", FormatDuration(cases[k].program_seconds),
        cases[k].kind == Kind::kFerry ? " (Ferry, in-process)" : " (`iptables-restore`)", "."));
  }
  if (!iptables) {
    sec.notes.push_back(
        "iptables is not installed, so the linear-rule reference was skipped (apt-get install "
        "--no-install-recommends iptables).");
  }
  if (b_ratio < kTargetRatio) {
    sec.notes.push_back(
        "MISSED: the map lookup is one hash lookup whatever N, so a gap here is the shared "
        "machine's noise (see the slices' range) or a cost outside the lookup. To attribute it, "
        "profile "
        "the run (`perf record -a -- ferry-bench --only=datapath`) and compare the share of "
        "nft_rhash_lookup with nft_do_chain.");
  }
  report->Add(std::move(sec));
  return absl::OkStatus();
}

}  // namespace ferry::bench
