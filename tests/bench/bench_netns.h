#ifndef FERRY_TESTS_BENCH_BENCH_NETNS_H_
#define FERRY_TESTS_BENCH_BENCH_NETNS_H_

// Network namespaces for the benchmarks, so nothing touches the root
// namespace. Each is uniquely named ("fb-<role>-<pid>-<n>") and removed by
// its destructor, or by the signal handler if the run is interrupted.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::bench {

// Removes every namespace still registered on SIGINT, SIGTERM, SIGHUP and
// fatal signals, then re-raises. Call once at start.
void InstallNetnsCleanupHandlers();

class Netns {
 public:
  static absl::StatusOr<std::unique_ptr<Netns>> Create(absl::string_view role);
  ~Netns();

  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  const std::string& name() const { return name_; }
  // An open descriptor of the namespace, for setns.
  int fd() const { return fd_; }

 private:
  Netns(std::string name, int fd, int slot) : name_(std::move(name)), fd_(fd), slot_(slot) {}

  std::string name_;
  int fd_;
  int slot_;  // in the signal handler's registry
};

// Moves the calling thread into `ns` until destroyed, then back. Sockets
// opened meanwhile stay in `ns`; threads started meanwhile start in it.
class NetnsEntry {
 public:
  static absl::StatusOr<std::unique_ptr<NetnsEntry>> Enter(const Netns& ns);
  ~NetnsEntry();

  NetnsEntry(const NetnsEntry&) = delete;
  NetnsEntry& operator=(const NetnsEntry&) = delete;

 private:
  explicit NetnsEntry(int original) : original_(original) {}
  int original_;
};

// A non-blocking TCP listener on 0.0.0.0:`port` inside `ns` (SO_REUSEADDR,
// backlog 4096), for a benchmark's backend; the caller closes it. `role`
// names it in errors ("listener", "server").
absl::StatusOr<int> ListenTcp(const Netns& ns, uint16_t port, absl::string_view role);

struct ProcessResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string output;  // stdout and stderr, merged
  double wall = 0;     // seconds from fork to reaping
  double user = 0;
  double sys = 0;
  // The kernel's ru_maxrss. After fork and exec it is at least the
  // forking process's own peak (the kernel carries the forked copy's high
  // water mark into the child), so for a small child of a big benchmark
  // process it says more about the benchmark than the child.
  int64_t max_rss_kib = 0;
  // The child's own peak (VmHWM of the image it executed), read while it
  // runs, at least every 5 ms: the measure of a child's memory.
  int64_t peak_hwm_kib = 0;
};

// Runs argv (no shell, PATH searched) with its network namespace set to
// `ns` (nullptr: the calling thread's), stdin from `stdin_path` (empty:
// /dev/null). Killed after `timeout_seconds`.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv, const Netns* ns,
                                         const std::string& stdin_path = "",
                                         double timeout_seconds = 120);

// RunProcess that fails unless the exit code is 0, quoting the output.
absl::StatusOr<ProcessResult> MustRun(const std::vector<std::string>& argv, const Netns* ns,
                                      const std::string& stdin_path = "");

// Runs `commands` (lines of `ip` commands) with `ip -n <ns> -batch`, from a
// file written into `dir`: one process for any number of addresses.
absl::Status IpBatch(const Netns& ns, const std::string& dir, const std::string& commands);

// Writes a /proc/sys key (e.g. "net/ipv4/ip_forward") inside `ns`.
absl::Status WriteSysctl(const Netns& ns, const std::string& key, const std::string& value);

}  // namespace ferry::bench

#endif  // FERRY_TESTS_BENCH_BENCH_NETNS_H_
