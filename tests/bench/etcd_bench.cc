// 7b: the user's path with the controller's state in a 3-member etcd
// cluster, beside the same figures on the embedded SQLite store in the same
// run: `ferryctl apply -f` of N forwards -> all Ready (`ferryctl wait`), M
// applies of one forward each, one change -> Ready; then, on etcd only, the
// failover of two replicas: kill -9 the leader, apply a change through the
// survivor, until the survivor is elected and until the change is Ready.

#include <signal.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "tests/bench/bench.h"
#include "tests/bench/bench_forwards.h"
#include "tests/bench/bench_netns.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/controller_process.h"
#include "tests/bench/etcd_cluster.h"
#include "tests/bench/replica_lab.h"

namespace ferry::bench {
namespace {

constexpr int kForwards = 10000;  // one manifest; --quick: 1,000
constexpr int kOneByOne = 200;    // separate applies; --quick: 20
constexpr int kChanges = 10;      // one change -> Ready samples; --quick: 3
constexpr int kEtcdMembers = 3;
// --leader-lease-ttl: the controller's default, and a short one.
constexpr int kDefaultLeaseTtl = 10;
constexpr int kShortLeaseTtl = 3;
constexpr char kNode[] = "node-a";
constexpr char kBatchFrontend[] = "10.64.0.1";   // the manifest's N forwards
constexpr char kSingleFrontend[] = "10.64.0.2";  // the one-by-one forwards
constexpr int kFirstPort = 1024;
// The backend's two ports (a change moves a forward between them); both
// accept connections.
constexpr uint16_t kBackendPort = 8081;
constexpr uint16_t kChangedBackendPort = 8082;
// The two replicas' TCP ports (agents); a replica that replaces a dead one
// takes its port and data dir.
constexpr int kReplicaPorts[2] = {7443, 7444};
// The agent's flags: default, but for data-path probes. The first probe
// round after a bulk apply commits one status per verdict, --probe-rate
// (200) a second for N / 200 s, which would overlap some steps and not
// others.
const std::vector<std::string> kAgentFlags = {"--probe-rate=0"};
constexpr char kElected[] = "msg=\"elected leader\"";
constexpr char kAgentConnected[] = "msg=\"agent connected\"";

struct Sizes {
  int forwards = kForwards;
  int one_by_one = kOneByOne;
  int changes = kChanges;
  std::vector<int> lease_ttls = {kDefaultLeaseTtl, kShortLeaseTtl};
};

// Forward i of a set: node-a's `frontend`, port 1024 + i, to the backend
// in the control namespace.
ferry::v1::Object Forward(const std::string& prefix, const std::string& frontend, int i,
                          uint32_t target_port) {
  ferry::v1::Object o = MasqueradeForward(absl::StrFormat("%s-%06d", prefix, i), kNode, frontend,
                                          static_cast<uint32_t>(kFirstPort + i), target_port);
  o.mutable_ip_forward()->mutable_spec()->mutable_backend()->set_address(kLabControlAddress);
  return o;
}

ferry::v1::Object BatchForward(int i, uint32_t target_port) {
  return Forward("etcd", kBatchFrontend, i, target_port);
}

std::string Name(const ferry::v1::Object& forward) {
  return forward.ip_forward().metadata().name();
}

// The first `n` batch forwards, forward i to `target_port(i)`, as one
// manifest.
template <typename TargetPort>
absl::Status WriteManifest(const std::string& path, int n, const TargetPort& target_port) {
  std::string text;
  text.reserve(static_cast<size_t>(n) * 320);
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&text, "---\n", ForwardYaml(BatchForward(i, target_port(i))));
  }
  return WriteFile(path, text);
}

absl::StatusOr<ProcessResult> MustSucceed(absl::StatusOr<ProcessResult> r, const std::string& what,
                                          const std::string& log) {
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    const std::string& out = r->output;
    return absl::UnknownError(absl::StrCat(what, " exited ", r->exit_code, ": ",
                                           out.substr(out.size() > 600 ? out.size() - 600 : 0),
                                           "; controller log: ", LogTail(log)));
  }
  return r;
}

struct PathFigures {
  double batch_apply = 0;   // ferryctl apply -f of N: spawn -> exit
  double batch_total = 0;   // ... -> ferryctl wait --all exited
  double update_apply = 0;  // the same manifest with every forward changed
  double update_total = 0;
  double one_by_one_total = 0;  // M ferryctl apply processes, back to back
  std::vector<double> one_by_one_each;
  double one_by_one_ready = 0;       // last apply acknowledged -> all Ready
  std::vector<double> change_total;  // apply + wait of one changed forward
  int64_t controller_peak_kib = 0;
  std::vector<int64_t> etcd_peak_kib;
};

// Figures 1-3 through `controller`'s socket; it serves node-a's agent. Leaves every batch forward
// on kChangedBackendPort, all Ready.
absl::StatusOr<PathFigures> MeasurePath(const BenchOptions& options, const Sizes& sizes,
                                        const std::string& dir, const ReplicaProcess& controller) {
  PathFigures fig;
  auto ctl = [&](std::vector<std::string> args) {
    return Ferryctl(options, controller.socket, std::move(args));
  };
  const std::vector<std::string> wait_all = {"wait", "ipforwards", "--all", "--for=condition=Ready",
                                             "--timeout=300s"};

  // 1. One manifest of N new forwards -> all Ready.
  const std::string manifest = absl::StrCat(dir, "/forwards.yaml");
  if (absl::Status s = WriteManifest(manifest, sizes.forwards, [](int) { return kBackendPort; });
      !s.ok()) {
    return s;
  }
  WaitForQuietMachine(0.9, 30);
  double t0 = NowSeconds();
  // One transaction; on a loaded machine it may outlast ferryctl's default
  // per-request timeout, which is not what is measured.
  absl::StatusOr<ProcessResult> apply = MustSucceed(
      RunProcess(ctl({"--request-timeout", "300s", "apply", "-f", manifest}), nullptr, "", 320),
      "ferryctl apply of the manifest", controller.log);
  if (!apply.ok()) return apply.status();
  absl::StatusOr<ProcessResult> wait = MustSucceed(RunProcess(ctl(wait_all), nullptr, "", 320),
                                                   "ferryctl wait --all", controller.log);
  if (!wait.ok()) return wait.status();
  fig.batch_total = NowSeconds() - t0;
  fig.batch_apply = apply->wall;

  // 2. M applies of one new forward each, each a ferryctl process that
  // exits 0 once its write is committed.
  std::vector<std::string> singles;
  for (int i = 0; i < sizes.one_by_one; ++i) {
    singles.push_back(absl::StrCat(dir, "/single-", i, ".yaml"));
    if (absl::Status s = WriteFile(
            singles.back(), ForwardYaml(Forward("single", kSingleFrontend, i, kBackendPort)));
        !s.ok()) {
      return s;
    }
  }
  WaitForQuietMachine(0.9, 30);
  t0 = NowSeconds();
  for (const std::string& single : singles) {
    absl::StatusOr<ProcessResult> one =
        MustSucceed(RunProcess(ctl({"apply", "-f", single}), nullptr),
                    "ferryctl apply of one forward", controller.log);
    if (!one.ok()) return one.status();
    fig.one_by_one_each.push_back(one->wall);
  }
  const double acked = NowSeconds();
  fig.one_by_one_total = acked - t0;
  wait = MustSucceed(RunProcess(ctl(wait_all), nullptr, "", 320), "ferryctl wait --all",
                     controller.log);
  if (!wait.ok()) return wait.status();
  fig.one_by_one_ready = NowSeconds() - acked;

  // 3. One change -> Ready: a batch forward moves to the other backend
  // port; two processes, as a user types them.
  WaitForQuietMachine(0.9, 30);
  for (int k = 0; k < sizes.changes; ++k) {
    const ferry::v1::Object changed = BatchForward(1 + k, kChangedBackendPort);
    const std::string one = absl::StrCat(dir, "/change.yaml");
    if (absl::Status s = WriteFile(one, ForwardYaml(changed)); !s.ok()) return s;
    const double c0 = NowSeconds();
    absl::StatusOr<ProcessResult> a = MustSucceed(RunProcess(ctl({"apply", "-f", one}), nullptr),
                                                  "ferryctl apply of a change", controller.log);
    if (!a.ok()) return a.status();
    absl::StatusOr<ProcessResult> w =
        MustSucceed(RunProcess(ctl({"wait", absl::StrCat("ipforward/", Name(changed)),
                                    "--for=condition=Ready", "--timeout=60s"}),
                               nullptr, "", 70),
                    "ferryctl wait of a change", controller.log);
    if (!w.ok()) return w.status();
    fig.change_total.push_back(NowSeconds() - c0);
  }

  // 1, again: the same manifest with every forward changed (the ones just
  // changed are unchanged), an update of N stored objects.
  if (absl::Status s =
          WriteManifest(manifest, sizes.forwards, [](int) { return kChangedBackendPort; });
      !s.ok()) {
    return s;
  }
  WaitForQuietMachine(0.9, 30);
  t0 = NowSeconds();
  apply = MustSucceed(
      RunProcess(ctl({"--request-timeout", "300s", "apply", "-f", manifest}), nullptr, "", 320),
      "ferryctl apply of the changed manifest", controller.log);
  if (!apply.ok()) return apply.status();
  wait = MustSucceed(RunProcess(ctl(wait_all), nullptr, "", 320), "ferryctl wait --all",
                     controller.log);
  if (!wait.ok()) return wait.status();
  fig.update_total = NowSeconds() - t0;
  fig.update_apply = apply->wall;
  fig.controller_peak_kib = controller.child->PeakRssKib();
  return fig;
}

struct FailoverFigures {
  int lease_ttl = 0;
  double elected = 0;      // kill -> the survivor's "elected leader" (its log's ts)
  double apply_acked = 0;  // kill -> ferryctl apply through the survivor exited 0
  double agent_back = 0;   // kill -> the survivor's "agent connected" (its log's ts)
  double ready = 0;        // kill -> ferryctl wait through the survivor exited 0
};

// Two replicas on one etcd: `leader` (serving the agent) and `follower`,
// both with the same --leader-lease-ttl. Kills the leader with SIGKILL,
// applies a change to `forward` through the follower at once and waits
// there for it to be Ready.
absl::StatusOr<FailoverFigures> Failover(const BenchOptions& options, ReplicaProcess* leader,
                                         const ReplicaProcess& follower, int lease_ttl,
                                         const ferry::v1::Object& forward, const std::string& dir) {
  FailoverFigures fig;
  fig.lease_ttl = lease_ttl;
  const std::string change = absl::StrCat(dir, "/failover-change.yaml");
  if (absl::Status s = WriteFile(change, ForwardYaml(forward)); !s.ok()) return s;
  // The follower has caught up with the store.
  WaitForQuietMachine(0.9, 30);
  const absl::Time killed = absl::Now();
  const double t0 = NowSeconds();
  ::kill(leader->child->pid(), SIGKILL);
  absl::StatusOr<ProcessResult> apply =
      MustSucceed(RunProcess(Ferryctl(options, follower.socket, {"apply", "-f", change}), nullptr),
                  "ferryctl apply through the survivor", follower.log);
  if (!apply.ok()) return apply.status();
  fig.apply_acked = NowSeconds() - t0;
  const double budget = 3.0 * lease_ttl + 60;
  absl::StatusOr<ProcessResult> wait = MustSucceed(
      RunProcess(Ferryctl(options, follower.socket,
                          {"wait", absl::StrCat("ipforward/", Name(forward)),
                           "--for=condition=Ready", absl::StrCat("--timeout=", budget, "s")}),
                 nullptr, "", budget + 10),
      "ferryctl wait through the survivor", follower.log);
  if (!wait.ok()) return wait.status();
  fig.ready = NowSeconds() - t0;
  leader->child->Stop();  // reaps it
  absl::StatusOr<absl::Time> elected = WaitForLogLine(follower.log, kElected, 5);
  if (!elected.ok()) return elected.status();
  fig.elected = absl::ToDoubleSeconds(*elected - killed);
  absl::StatusOr<absl::Time> agent = WaitForLogLine(follower.log, kAgentConnected, 5);
  if (!agent.ok()) return agent.status();
  fig.agent_back = absl::ToDoubleSeconds(*agent - killed);
  return fig;
}

// The etcd half: 3 members, one replica for figures 1-3, then a pair of
// replicas for each failover.
struct EtcdRun {
  PathFigures path;
  std::vector<FailoverFigures> failovers;
};

absl::StatusOr<EtcdRun> RunOnEtcd(const BenchOptions& options, const Sizes& sizes,
                                  const std::string& dir) {
  EtcdRun run;
  absl::StatusOr<ReplicaLab> lab =
      MakeReplicaLab(dir, {kBatchFrontend, kSingleFrontend}, {kBackendPort, kChangedBackendPort});
  if (!lab.ok()) return lab.status();
  EtcdCluster::Options etcd_options;
  etcd_options.members = kEtcdMembers;
  etcd_options.dir = absl::StrCat(dir, "/etcd");
  etcd_options.netns = lab->control.get();
  absl::StatusOr<std::unique_ptr<EtcdCluster>> cluster = EtcdCluster::Start(etcd_options);
  if (!cluster.ok()) return cluster.status();

  // Replica i's data dir and port: slot 0 or 1. A replacement takes the
  // dead one's; every data dir holds the same CA (pki/).
  const std::string data[2] = {absl::StrCat(dir, "/replica-a"), absl::StrCat(dir, "/replica-b")};
  int started = 0;
  auto start = [&](int slot, int lease_ttl) {
    ReplicaOptions r;
    r.name = absl::StrCat("replica-", ++started);
    r.data_dir = data[slot];
    r.tcp_port = kReplicaPorts[slot];
    r.etcd_endpoints = (*cluster)->Endpoints();
    r.lease_ttl_seconds = lease_ttl;
    return StartReplica(options, *lab, dir, r);
  };
  absl::StatusOr<ReplicaProcess> leader = start(0, sizes.lease_ttls.front());
  if (!leader.ok()) return leader.status();
  if (absl::StatusOr<absl::Time> e = WaitForLogLine(leader->log, kElected, 30); !e.ok()) {
    return e.status();
  }
  int leader_slot = 0;
  const std::string controllers = absl::StrCat(kLabControlAddress, ":", kReplicaPorts[0], ",",
                                               kLabControlAddress, ":", kReplicaPorts[1]);
  absl::StatusOr<std::unique_ptr<Child>> agent = StartJoinedAgent(
      options, *lab, leader->socket, kNode, controllers, absl::StrCat(dir, "/agent-state"),
      absl::StrCat(dir, "/agent.log"), kAgentFlags);
  if (!agent.ok()) return agent.status();

  absl::StatusOr<PathFigures> path = MeasurePath(options, sizes, dir, *leader);
  if (!path.ok()) return path.status();
  run.path = *std::move(path);
  run.path.etcd_peak_kib = (*cluster)->PeakRssKib();

  // Failovers. The follower shares the leader's CA.
  std::error_code error;
  std::filesystem::create_directories(data[1], error);
  if (!error) {
    std::filesystem::copy(absl::StrCat(data[0], "/pki"), absl::StrCat(data[1], "/pki"),
                          std::filesystem::copy_options::recursive, error);
  }
  if (error) return absl::InternalError(absl::StrCat("copying pki/: ", error.message()));
  for (size_t round = 0; round < sizes.lease_ttls.size(); ++round) {
    const int ttl = sizes.lease_ttls[round];
    if (round > 0) {
      // The survivor leads with the previous TTL: a replica with this one
      // takes the dead one's place, the survivor hands over to it on
      // SIGTERM, and a second one with this TTL follows.
      absl::StatusOr<ReplicaProcess> next = start(1 - leader_slot, ttl);
      if (!next.ok()) return next.status();
      leader->child->Stop();
      *leader = *std::move(next);
      leader_slot = 1 - leader_slot;
      // It adopts what the agent applied (the same forwards): no push.
      for (const char* line : {kElected, kAgentConnected}) {
        if (absl::StatusOr<absl::Time> seen = WaitForLogLine(leader->log, line, 60); !seen.ok()) {
          return seen.status();
        }
      }
    }
    absl::StatusOr<ReplicaProcess> second = start(1 - leader_slot, ttl);
    if (!second.ok()) return second.status();
    // Each round changes a forward of its own, back to the first port.
    absl::StatusOr<FailoverFigures> f =
        Failover(options, &*leader, *second, ttl,
                 BatchForward(sizes.changes + 1 + static_cast<int>(round), kBackendPort), dir);
    if (!f.ok()) return f.status();
    run.failovers.push_back(*f);
    // The survivor leads now.
    *leader = *std::move(second);
    leader_slot = 1 - leader_slot;
  }
  (*agent)->Stop();
  leader->child->Stop();
  return run;
}

absl::StatusOr<PathFigures> RunOnSqlite(const BenchOptions& options, const Sizes& sizes,
                                        const std::string& dir) {
  absl::StatusOr<ReplicaLab> lab =
      MakeReplicaLab(dir, {kBatchFrontend, kSingleFrontend}, {kBackendPort, kChangedBackendPort});
  if (!lab.ok()) return lab.status();
  ReplicaOptions r;
  r.name = "sqlite";
  r.data_dir = absl::StrCat(dir, "/data");
  r.tcp_port = kReplicaPorts[0];
  absl::StatusOr<ReplicaProcess> controller = StartReplica(options, *lab, dir, r);
  if (!controller.ok()) return controller.status();
  absl::StatusOr<std::unique_ptr<Child>> agent = StartJoinedAgent(
      options, *lab, controller->socket, kNode, controller->address,
      absl::StrCat(dir, "/agent-state"), absl::StrCat(dir, "/agent.log"), kAgentFlags);
  if (!agent.ok()) return agent.status();
  absl::StatusOr<PathFigures> path = MeasurePath(options, sizes, dir, *controller);
  (*agent)->Stop();
  controller->child->Stop();
  return path;
}

std::string Rate(double count, double seconds, const char* unit) {
  return absl::StrCat(FormatDuration(seconds), " (", FormatCount(seconds > 0 ? count / seconds : 0),
                      " ", unit, "/s)");
}

std::string Ratio(double etcd, double sqlite) {
  return sqlite > 0 ? FormatRatio(etcd / sqlite) : "";
}

std::string Peaks(const std::vector<int64_t>& kib) {
  std::vector<std::string> parts;
  for (int64_t k : kib) parts.push_back(FormatKib(k));
  return absl::StrJoin(parts, ", ");
}

}  // namespace

absl::Status RunEtcdBench(const BenchOptions& options, Report* report) {
  Section section;
  section.title = "7b. Controller state on etcd: the user's path beside SQLite, and failover";
  if (!EtcdCluster::Installed()) {
    section.method = absl::StrCat("Not measured: ", EtcdCluster::kBinary,
                                  " is missing (apt-get install etcd-server).");
    report->Add(std::move(section));
    return absl::OkStatus();
  }
  Sizes sizes;
  if (options.quick) {
    sizes.forwards = 1000;
    sizes.one_by_one = 20;
    sizes.changes = 3;
    sizes.lease_ttls = {kShortLeaseTtl};
  }
  const std::string dir = absl::StrCat(options.scratch_dir, "/etcd");
  for (const char* sub : {"/sqlite", "/etcd"}) {
    std::error_code error;
    std::filesystem::create_directories(dir + sub, error);
    if (error) return absl::InternalError(absl::StrCat(dir, sub, ": ", error.message()));
  }
  // The reference first, then etcd, each in namespaces of its own.
  absl::StatusOr<PathFigures> sqlite = RunOnSqlite(options, sizes, dir + "/sqlite");
  if (!sqlite.ok()) return sqlite.status();
  WaitForQuietMachine(0.9, 30);
  absl::StatusOr<EtcdRun> etcd = RunOnEtcd(options, sizes, dir + "/etcd");
  if (!etcd.ok()) return etcd.status();
  const PathFigures& e = etcd->path;
  const PathFigures& s = *sqlite;

  const std::string n = FormatCount(sizes.forwards);
  section.method = absl::StrCat(
      "Two namespaces joined by a veth pair: node-a's, with a `ferry-agent` (kernel nftables; "
      "default flags but `--probe-rate=0`) joined by token and talking TLS over TCP to the "
      "controllers, and a control-plane namespace holding the controllers, the etcd members and "
      "the forwards' backend (",
      kLabControlAddress, ":", kBackendPort, " and :", kChangedBackendPort,
      ", accepting). etcd: ", kEtcdMembers, " members of ", EtcdCluster::Version(),
      " (Debian's etcd-server) on that namespace's loopback, data dirs on the same disk as "
      "SQLite's (etcd's default fsync per commit; SQLite WAL, synchronous=FULL), "
      "`--max-txn-ops 200000 --max-request-bytes 64 MiB` so the manifest commits as one "
      "transaction; on this one 2-core machine, so etcd's raft traffic shares the CPUs with "
      "the controller, the agent and ferryctl. Each store gets a fresh lab and one "
      "`ferry-controller` (`--etcd-endpoints` of the 3 members, or `--data-dir`), and the same "
      "steps, timed through its unix socket as the user types them: one manifest of ",
      n,
      " new IPForwards on node-a (Masquerade), from spawning `ferryctl apply -f` until "
      "`ferryctl wait ipforwards --all --for=condition=Ready` exits 0; ",
      sizes.one_by_one,
      " `ferryctl apply -f` processes of one new forward each, back to back "
      "(each exits 0 once its write is committed), then until all are Ready; ",
      sizes.changes,
      " changes of one forward's targetPort, each `ferryctl apply -f` + `ferryctl "
      "wait ipforward/NAME --for=condition=Ready` (Ready at the new generation); the manifest "
      "again with every forward's targetPort changed (an update of ",
      n,
      " stored objects). Controller peak RSS: its VmHWM at the end of these steps. Failover "
      "(etcd only): a second replica started on a copy of the first's pki/ (the shared CA), "
      "both with the same `--leader-lease-ttl`; the agent has `--controller` of both "
      "addresses and streams to the leader; after the machine went quiet, SIGKILL to the leader, "
      "then at once `ferryctl apply -f` of a changed forward through the survivor and `ferryctl "
      "wait` there until it is Ready. Elected and agent-back times are the survivor's log "
      "timestamps (`elected leader`, `agent connected`) minus the kill's. For a second TTL, a "
      "replica with it takes the dead one's place, the survivor hands over on SIGTERM, and a "
      "second one with it follows.");
  section.header = {"Figure", "etcd (3 members)", "SQLite (reference)", "etcd ÷ SQLite"};
  section.rows.push_back({absl::StrCat("apply of ", n, " new forwards → all Ready"),
                          Rate(sizes.forwards, e.batch_total, "forwards"),
                          Rate(sizes.forwards, s.batch_total, "forwards"),
                          Ratio(e.batch_total, s.batch_total)});
  section.rows.push_back({"of which `ferryctl apply` (parse, send, commit, exit)",
                          FormatDuration(e.batch_apply), FormatDuration(s.batch_apply),
                          Ratio(e.batch_apply, s.batch_apply)});
  section.rows.push_back({absl::StrCat("apply of the ", n, " forwards, each changed → all Ready"),
                          Rate(sizes.forwards, e.update_total, "forwards"),
                          Rate(sizes.forwards, s.update_total, "forwards"),
                          Ratio(e.update_total, s.update_total)});
  section.rows.push_back({"of which `ferryctl apply`", FormatDuration(e.update_apply),
                          FormatDuration(s.update_apply), Ratio(e.update_apply, s.update_apply)});
  section.rows.push_back(
      {absl::StrCat("apply one by one: ", sizes.one_by_one, " `ferryctl apply` processes"),
       absl::StrCat(Rate(sizes.one_by_one, e.one_by_one_total, "applies"), ", median ",
                    FormatDuration(Median(e.one_by_one_each)), " each"),
       absl::StrCat(Rate(sizes.one_by_one, s.one_by_one_total, "applies"), ", median ",
                    FormatDuration(Median(s.one_by_one_each)), " each"),
       Ratio(e.one_by_one_total, s.one_by_one_total)});
  section.rows.push_back({"then the last one acknowledged → all Ready",
                          FormatDuration(e.one_by_one_ready), FormatDuration(s.one_by_one_ready),
                          Ratio(e.one_by_one_ready, s.one_by_one_ready)});
  const double e_med = Median(e.change_total), s_med = Median(s.change_total);
  section.rows.push_back(
      {absl::StrCat("one change → Ready (apply + wait), median of ", sizes.changes),
       FormatDuration(e_med), FormatDuration(s_med), Ratio(e_med, s_med)});
  const double e_p90 = Percentile(e.change_total, 90), s_p90 = Percentile(s.change_total, 90);
  section.rows.push_back({"one change → Ready, p90", FormatDuration(e_p90), FormatDuration(s_p90),
                          Ratio(e_p90, s_p90)});
  section.rows.push_back({"controller peak RSS", FormatKib(e.controller_peak_kib),
                          FormatKib(s.controller_peak_kib),
                          Ratio(static_cast<double>(e.controller_peak_kib),
                                static_cast<double>(s.controller_peak_kib))});
  section.rows.push_back(
      {"etcd members' peak RSS", Peaks(e.etcd_peak_kib), "— (in the controller)", ""});
  for (const FailoverFigures& f : etcd->failovers) {
    const std::string ttl = absl::StrCat("`--leader-lease-ttl ", f.lease_ttl, "s`");
    section.rows.push_back({absl::StrCat("failover, ", ttl, ": kill -9 leader → survivor elected"),
                            FormatDuration(f.elected), "— (one controller)", ""});
    section.rows.push_back(
        {absl::StrCat("failover, ", ttl, ": kill → change applied through the survivor Ready"),
         FormatDuration(f.ready), "", ""});
    section.rows.push_back({"of which kill → the survivor acknowledged the apply (no leader yet)",
                            FormatDuration(f.apply_acked), "", ""});
    section.rows.push_back(
        {"of which kill → agent's stream on the survivor",
         absl::StrCat(FormatDuration(f.agent_back), " (", FormatDuration(f.agent_back - f.elected),
                      " after elected)"),
         "", ""});
  }
  section.notes.push_back(
      "Kill → elected: a follower takes the leader key once etcd expired the dead leader's "
      "lease, which the leader renewed several times per TTL, so a little under the TTL after "
      "the kill, plus the follower's next campaign round (every TTL/20, 100-500 ms). Writes need "
      "no leader: any replica commits them to etcd, so the survivor acknowledges the apply at "
      "once, and the change waits for the election, the agent's reconnect to the survivor "
      "(after the dead leader's address refused it) and the push.");
  section.notes.push_back(
      "What an update's `ferryctl apply` waits for on etcd: the store's Commit returns once the "
      "controller's own watch delivered the commit's revision. The watch asks for no prev_kv "
      "(etcd 3.4 reads each updated key's old value for it: 10,000 updated forwards then took "
      "2.9 s instead of 1.2 s); a delete's old value is read at the revision before.");
  section.notes.push_back(
      "Probes are off because the first probe round after a bulk apply commits one status per "
      "verdict: --probe-rate's 200 commits a second for N / 200 s (each an etcd transaction "
      "replicated to 3 members), which overlapped some steps and not others.");
  section.notes.push_back(
      "Memory: etcd runs as Debian ships it, without --auto-compaction; the leader compacts "
      "every --etcd-compaction-interval (5 min), longer than these steps, so the members hold "
      "every revision they wrote; the controller on "
      "etcd keeps its change log (up to 100,000 changes, each with its object) in memory, where "
      "SQLite keeps it in the database file.");
  report->Add(std::move(section));
  return absl::OkStatus();
}

}  // namespace ferry::bench
