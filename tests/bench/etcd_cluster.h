#ifndef FERRY_TESTS_BENCH_ETCD_CLUSTER_H_
#define FERRY_TESTS_BENCH_ETCD_CLUSTER_H_

// A real etcd v3 cluster for the benchmarks: Debian's /usr/bin/etcd
// (etcd-server), N members on loopback ports that were free in the
// namespace they run in, one data dir each under the caller's dir (the
// scratch dir, on the same disk as every other benchmark's files). The
// members are Child processes: they die with the benchmark
// (PR_SET_PDEATHSIG) and are stopped by the destructor.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/bench/bench_netns.h"
#include "tests/bench/controller_process.h"

namespace ferry::bench {

class EtcdCluster {
 public:
  static constexpr char kBinary[] = "/usr/bin/etcd";

  struct Options {
    int members = 3;
    // Where each member's data dir (member-<i>/) and log (etcd-<i>.log) go.
    std::string dir;
    // The namespace the members run in and listen on the loopback of;
    // nullptr: this process's.
    const Netns* netns = nullptr;
    // etcd's limits on one transaction; its defaults (128 ops, 1.5 MiB)
    // refuse one atomic apply of thousands of forwards.
    int max_txn_ops = 200000;
    int64_t max_request_bytes = 64 << 20;
    // How long every member may take to report itself healthy (a leader
    // elected and known to it).
    double ready_timeout = 30;
  };

  // Whether kBinary is there (apt-get install etcd-server).
  static bool Installed();
  // "etcd 3.4.23", or why it is unknown.
  static std::string Version();

  // Starts every member and waits, bounded, until each one's /health says
  // true. A member that exits or stays unhealthy fails the start (with the
  // end of its log); the members already started are stopped.
  static absl::StatusOr<std::unique_ptr<EtcdCluster>> Start(const Options& options);

  ~EtcdCluster() = default;
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // "http://127.0.0.1:<port>,..." for --etcd-endpoints.
  std::string Endpoints() const;
  // Each member's peak RSS so far (VmHWM), KiB, in member order.
  std::vector<int64_t> PeakRssKib() const;

 private:
  struct Member {
    std::unique_ptr<Child> child;
    int client_port = 0;
    std::string log;
  };
  EtcdCluster() = default;

  std::vector<Member> members_;
};

}  // namespace ferry::bench

#endif  // FERRY_TESTS_BENCH_ETCD_CLUSTER_H_
