#include "tests/bench/replica_lab.h"

#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "tests/bench/bench_util.h"

namespace ferry::bench {

absl::StatusOr<ReplicaLab> MakeReplicaLab(const std::string& dir,
                                          const std::vector<std::string>& frontends,
                                          const std::vector<uint16_t>& backend_ports) {
  ReplicaLab lab;
  absl::StatusOr<std::unique_ptr<Netns>> control = Netns::Create("etcdctl");
  if (!control.ok()) return control.status();
  lab.control = *std::move(control);
  absl::StatusOr<std::unique_ptr<Netns>> node = Netns::Create("etcdnode");
  if (!node.ok()) return node.status();
  lab.node = *std::move(node);
  if (absl::Status s = IpBatch(*lab.control, dir,
                               absl::StrCat("link set lo up\nlink add eth0 type veth peer name "
                                            "eth0 netns ",
                                            lab.node->name(), "\naddr add ", kLabControlAddress,
                                            "/24 dev eth0\nlink set eth0 up\n"));
      !s.ok()) {
    return s;
  }
  std::string node_batch =
      absl::StrCat("link set lo up\naddr add ", kLabNodeAddress, "/24 dev eth0\n");
  for (const std::string& f : frontends)
    absl::StrAppend(&node_batch, "addr add ", f, "/32 dev eth0\n");
  absl::StrAppend(&node_batch, "link set eth0 up\n");
  if (absl::Status s = IpBatch(*lab.node, dir, node_batch); !s.ok()) return s;
  for (uint16_t port : backend_ports) {
    absl::StatusOr<std::unique_ptr<ProbeListener>> backend =
        ProbeListener::Start(*lab.control, port);
    if (!backend.ok()) return backend.status();
    lab.backends.push_back(*std::move(backend));
  }
  return lab;
}

std::vector<std::string> Ferryctl(const BenchOptions& options, const std::string& socket,
                                  std::vector<std::string> args) {
  args.insert(args.begin(), {SiblingBinary(options, "ferryctl"), "--server", socket});
  return args;
}

absl::StatusOr<ReplicaProcess> StartReplica(const BenchOptions& options, const ReplicaLab& lab,
                                            const std::string& dir, const ReplicaOptions& replica) {
  ReplicaProcess r;
  r.socket = absl::StrCat("unix:", dir, "/", replica.name, ".sock");
  r.address = absl::StrCat(kLabControlAddress, ":", replica.tcp_port);
  r.log = absl::StrCat(dir, "/", replica.name, ".log");
  std::vector<std::string> argv = {SiblingBinary(options, "ferry-controller"), "--data-dir",
                                   replica.data_dir, "--listen", r.socket, "--listen", r.address,
                                   // As StartController: the forwards claim ports
                                   // 1024 and up, the controllers' among them, on
                                   // namespace-only addresses.
                                   "--reserved-ports", "65535"};
  if (!replica.etcd_endpoints.empty()) {
    argv.insert(argv.end(), {"--etcd-endpoints", replica.etcd_endpoints, "--leader-lease-ttl",
                             absl::StrCat(replica.lease_ttl_seconds, "s")});
  }
  if (options.debug_logs) argv.insert(argv.end(), {"--v", "debug"});
  absl::StatusOr<std::unique_ptr<Child>> child = Child::Start(argv, lab.control->fd(), r.log);
  if (!child.ok()) return child.status();
  r.child = *std::move(child);
  bool exited = false;
  const bool serving = WaitUntil(
      [&] {
        exited = !r.child->Running();
        if (exited) return true;
        absl::StatusOr<ProcessResult> get =
            RunProcess(Ferryctl(options, r.socket, {"get", "nodes"}), nullptr, "", 10);
        return get.ok() && get->exit_code == 0;
      },
      30, 0.05);
  if (exited || !serving) {
    return absl::UnavailableError(absl::StrCat("ferry-controller ", replica.name,
                                               exited ? " exited" : " did not serve in 30 s",
                                               "; its log: ", LogTail(r.log)));
  }
  return r;
}

absl::StatusOr<std::unique_ptr<Child>> StartJoinedAgent(
    const BenchOptions& options, const ReplicaLab& lab, const std::string& socket,
    const std::string& node, const std::string& controllers, const std::string& state_dir,
    const std::string& log, const std::vector<std::string>& extra_flags) {
  absl::StatusOr<ProcessResult> created = MustRun(
      Ferryctl(options, socket, {"token", "create", "--node", node, "--ttl", "1h"}), nullptr);
  if (!created.ok()) return created.status();
  // stdout (the token) and stderr (how to join, quoting it) are merged.
  const size_t at = created->output.find("ferry1.");
  if (at == std::string::npos) {
    return absl::InternalError(
        absl::StrCat("ferryctl token create printed no token: ", created->output));
  }
  size_t end = at;
  while (end < created->output.size() && !absl::ascii_isspace(created->output[end])) ++end;
  const std::string token = created->output.substr(at, end - at);
  std::vector<std::string> argv = {SiblingBinary(options, "ferry-agent"),
                                   "--node-name",
                                   node,
                                   "--controller",
                                   controllers,
                                   "--join-token",
                                   token,
                                   "--state-dir",
                                   state_dir};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  if (options.debug_logs) argv.insert(argv.end(), {"--v", "debug"});
  absl::StatusOr<std::unique_ptr<Child>> agent = Child::Start(argv, lab.node->fd(), log);
  if (!agent.ok()) return agent.status();
  // The Node object exists once the agent's Hello was written back.
  WaitUntil(
      [&] {
        absl::StatusOr<ProcessResult> r =
            RunProcess(Ferryctl(options, socket, {"get", absl::StrCat("node/", node)}), nullptr);
        return !(*agent)->Running() || (r.ok() && r->exit_code == 0);
      },
      30, 0.05);
  absl::StatusOr<ProcessResult> connected = RunProcess(
      Ferryctl(options, socket,
               {"wait", absl::StrCat("node/", node), "--for=condition=Connected", "--timeout=30s"}),
      nullptr);
  if (!connected.ok()) return connected.status();
  if (connected->exit_code != 0) {
    return absl::UnavailableError(
        absl::StrCat(node, " did not connect: ", connected->output, "; agent log: ", LogTail(log)));
  }
  return agent;
}

std::optional<absl::Time> LogLineTime(const std::string& log, const std::string& needle) {
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(needle) == std::string::npos) continue;
    // logfmt: ts=2026-12-06T08:47:50.548Z level=... msg=...
    const size_t ts = line.find("ts=");
    if (ts == std::string::npos) return std::nullopt;
    absl::string_view value(line);
    value = value.substr(ts + 3);
    value = value.substr(0, value.find(' '));
    absl::ConsumeSuffix(&value, "Z");
    absl::Time t;
    std::string error;
    if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", value, absl::UTCTimeZone(), &t, &error)) {
      return std::nullopt;
    }
    return t;
  }
  return std::nullopt;
}

absl::StatusOr<absl::Time> WaitForLogLine(const std::string& log, const std::string& needle,
                                          double timeout) {
  std::optional<absl::Time> at;
  if (!WaitUntil(
          [&] {
            at = LogLineTime(log, needle);
            return at.has_value();
          },
          timeout, 0.01)) {
    return absl::DeadlineExceededError(
        absl::StrCat("no ", needle, " in ", log, " within ", timeout, " s: ", LogTail(log)));
  }
  return *at;
}

}  // namespace ferry::bench
