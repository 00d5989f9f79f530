#ifndef FERRY_TESTS_BENCH_REPLICA_LAB_H_
#define FERRY_TESTS_BENCH_REPLICA_LAB_H_

// The lab of the etcd benchmark: a control-plane namespace (etcd members,
// ferry-controller replicas, the forwards' backend listeners) joined by a
// veth pair to one node's namespace (its ferry-agent, kernel nftables).
// Agents reach the controllers over TCP with TLS (joined by token), as
// replicas need; ferryctl talks to each controller on its unix socket,
// which the file system carries across namespaces. Nothing in the root
// namespace changes.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/bench/bench.h"
#include "tests/bench/bench_netns.h"
#include "tests/bench/controller_process.h"
#include "tests/bench/probe_listener.h"

namespace ferry::bench {

inline constexpr char kLabControlAddress[] = "192.0.2.100";  // the controllers' and backends'
inline constexpr char kLabNodeAddress[] = "192.0.2.1";

struct ReplicaLab {
  std::unique_ptr<Netns> control;
  std::unique_ptr<Netns> node;
  // Accept every connection to the backends, so the agent's data-path
  // probes pass and write nothing beyond their first verdict.
  std::vector<std::unique_ptr<ProbeListener>> backends;
};

// The two namespaces and their link; `frontends` are added to the node's
// side as /32s; a backend listener on kLabControlAddress per port.
absl::StatusOr<ReplicaLab> MakeReplicaLab(const std::string& dir,
                                          const std::vector<std::string>& frontends,
                                          const std::vector<uint16_t>& backend_ports);

// One ferry-controller in the lab's control namespace.
struct ReplicaOptions {
  std::string name;      // names its socket (<dir>/<name>.sock) and log (<dir>/<name>.log)
  std::string data_dir;  // SQLite's ferry.db, or (on etcd) the shared CA under pki/
  int tcp_port = 0;      // on kLabControlAddress, for agents
  // Empty: SQLite in data_dir. Else a replica on this etcd cluster.
  std::string etcd_endpoints;
  int lease_ttl_seconds = 10;  // --leader-lease-ttl, on etcd only
};

struct ReplicaProcess {
  std::unique_ptr<Child> child;
  std::string socket;   // "unix:<dir>/<name>.sock", for ferryctl
  std::string address;  // "192.0.2.100:<port>", for agents
  std::string log;
};

// Starts it and waits, bounded, until ferryctl gets an answer on its
// socket (a follower answers too). Fails with the end of its log.
absl::StatusOr<ReplicaProcess> StartReplica(const BenchOptions& options, const ReplicaLab& lab,
                                            const std::string& dir, const ReplicaOptions& replica);

// ferryctl's argv: --server `socket`, then `args`.
std::vector<std::string> Ferryctl(const BenchOptions& options, const std::string& socket,
                                  std::vector<std::string> args);

// Creates a join token for `node` through `socket`, starts ferry-agent in
// the lab's node namespace with it (state in `state_dir`, talking to
// `controllers`, comma-separated host:port, then `extra_flags`), and
// waits, bounded, until the Node reads Connected through `socket`.
absl::StatusOr<std::unique_ptr<Child>> StartJoinedAgent(
    const BenchOptions& options, const ReplicaLab& lab, const std::string& socket,
    const std::string& node, const std::string& controllers, const std::string& state_dir,
    const std::string& log, const std::vector<std::string>& extra_flags);

// The ts= time of the first line of the logfmt `log` that contains
// `needle`, e.g. msg="elected leader"; nullopt while there is none.
std::optional<absl::Time> LogLineTime(const std::string& log, const std::string& needle);

// Waits, bounded, for LogLineTime(log, needle).
absl::StatusOr<absl::Time> WaitForLogLine(const std::string& log, const std::string& needle,
                                          double timeout);

}  // namespace ferry::bench

#endif  // FERRY_TESTS_BENCH_REPLICA_LAB_H_
