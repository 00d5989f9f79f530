#ifndef FERRY_TESTS_BENCH_BENCH_H_
#define FERRY_TESTS_BENCH_BENCH_H_

// The benchmark families of ferry-bench. Each measures Ferry beside a
// reference in the same run and adds its section to the report.

#include <string>

#include "absl/status/status.h"
#include "tests/bench/bench_report.h"

namespace ferry::bench {

struct BenchOptions {
  bool quick = false;       // small N, short windows: a smoke test
  int runs = 5;             // repetitions of cold syncs and data path rounds
  int changes = 200;        // single-forward changes per N
  double seconds = 5;       // data path window per case and round
  std::string self;         // path of this binary, for child processes
  std::string scratch_dir;  // generated ruleset files
  // --debug_logs: children log at debug level (each reconcile pass's stage
  // times, each push) and the scratch dir with their logs is kept.
  bool debug_logs = false;
};

// 1a: empty namespace to 100k programmed elements, Ferry vs `nft -f`.
absl::Status RunColdSyncBench(const BenchOptions& options, Report* report);
// 1b: one forward's change among N, Ferry vs `nft` (one process per change).
absl::Status RunChangeBench(const BenchOptions& options, Report* report);
// 2: new connections/s through a DNAT frontend: 1 vs 100k map elements vs
// 100k linear iptables rules.
absl::Status RunDatapathBench(const BenchOptions& options, Report* report);
// 3: 100 agents in their own namespaces; apply -> every affected ACK, no
// push to unaffected agents, first sync of 100k forwards.
absl::Status RunFanoutBench(const BenchOptions& options, Report* report);
// 4: the controller at 100k stored forwards: apply throughput (batched and
// one by one), memory per forward, restart to serving, streamed list.
absl::Status RunControllerBench(const BenchOptions& options, Report* report);
// 6: drift detection latency over many tampers, and the CPU cost of the
// periodic full verification at 10k and 100k forwards.
absl::Status RunDriftBench(const BenchOptions& options, Report* report);
// 7: the user's path with the real processes in the seed's lab: ferryctl
// apply of N forwards -> all Ready beside `nft -f`, one change among N,
// peak RSS of ferryctl and the controller, the controller's stop.
absl::Status RunE2eBench(const BenchOptions& options, Report* report);
// 7b: the same path with the controller's state in a 3-member etcd cluster
// beside SQLite (N forwards -> all Ready, one by one, one change -> Ready),
// and the failover of two replicas: kill -9 the leader -> a change Ready.
absl::Status RunEtcdBench(const BenchOptions& options, Report* report);
// 8: the cost of data-path probing at 10k forwards on one node (agent and
// controller CPU, probes and packets per second, agent RSS) beside the same
// lab with probing off, and apply -> every forward probed once.
absl::Status RunProbeBench(const BenchOptions& options, Report* report);
// 5: RSS at 1k and 100k forwards, idle CPU (each in a child process).
absl::Status RunResourcesBench(const BenchOptions& options, Report* report);

// The child side of RunResourcesBench, started inside its namespace:
// commits `forwards`, then idles `idle_seconds`; prints one line of
// key=value figures.
int RunResourcesChild(int forwards, double idle_seconds);

}  // namespace ferry::bench

#endif  // FERRY_TESTS_BENCH_BENCH_H_
