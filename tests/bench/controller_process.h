#ifndef FERRY_TESTS_BENCH_CONTROLLER_PROCESS_H_
#define FERRY_TESTS_BENCH_CONTROLLER_PROCESS_H_

// Real Ferry processes for the fan-out and controller benchmarks: a
// ferry-controller on a temp data dir and unix socket, agents started in
// their namespaces, a gRPC client and a /metrics scraper.

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "tests/bench/bench.h"

namespace ferry::bench {

// A process running in the background, stopped (SIGTERM, then SIGKILL
// after a grace period) at the latest by the destructor. It also dies with
// the benchmark (PR_SET_PDEATHSIG), so none outlives an interrupted run.
class Child {
 public:
  // `netns_fd` < 0: this process's namespace. stdout and stderr go to
  // `log_path`.
  static absl::StatusOr<std::unique_ptr<Child>> Start(const std::vector<std::string>& argv,
                                                      int netns_fd, const std::string& log_path);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  void Stop(double grace_seconds = 5);
  // VmRSS of the process in KiB (0 once it has exited).
  int64_t RssKib() const;
  // VmHWM: the process's peak RSS so far, in KiB (0 once it has exited).
  int64_t PeakRssKib() const;

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
};

// The binary `name` next to ferry-bench (all are built into one bin dir).
std::string SiblingBinary(const BenchOptions& options, const std::string& name);

// Polls `ready` every `poll` seconds until it returns true or `timeout`
// seconds pass. Returns whether it became true.
bool WaitUntil(const std::function<bool()>& ready, double timeout, double poll = 0.002);

// A TCP port on 127.0.0.1 that was free a moment ago.
absl::StatusOr<int> FreeLocalPort();

// GET http://127.0.0.1:<port><path>: the status code and body.
struct HttpResponse {
  int code = 0;
  std::string body;
};
absl::StatusOr<HttpResponse> HttpGet(int port, const std::string& path, double timeout = 2);

// The value of one series in Prometheus text, e.g.
// `ferry_config_pushes_total{node="n1",kind="full"}`; 0 if absent.
double MetricValue(const std::string& text, const std::string& series);

struct ControllerProcess {
  std::unique_ptr<Child> child;
  std::string socket;  // "unix:/..."
  int metrics_port = 0;
  std::string data_dir;
  std::string log;
};

// Starts ferry-controller on `data_dir` (created by it if missing),
// listening on `dir`/c.sock and 127.0.0.1:<free port> for /metrics. Does
// not wait for it to serve.
absl::StatusOr<ControllerProcess> StartController(const BenchOptions& options,
                                                  const std::string& dir,
                                                  const std::string& data_dir);

// Starts ferry-agent as `node` inside the namespace `netns_fd`, talking to
// `controller`; its log is `dir`/<node>.log.
absl::StatusOr<std::unique_ptr<Child>> StartAgent(const BenchOptions& options,
                                                  const ControllerProcess& controller, int netns_fd,
                                                  const std::string& node, const std::string& dir);

// StartAgent with `extra_flags` after the others and the log at `log_path`.
absl::StatusOr<std::unique_ptr<Child>> StartAgentWithFlags(
    const BenchOptions& options, const ControllerProcess& controller, int netns_fd,
    const std::string& node, const std::string& log_path,
    const std::vector<std::string>& extra_flags);

// The end of a log (about `bytes`) on one line, escaped for a Markdown
// table cell, for the error that a child did not do its part.
std::string LogTail(const std::string& path, size_t bytes = 1500);

// A channel and stub to the controller's ResourceService.
std::unique_ptr<ferry::v1::ResourceService::Stub> ResourceStub(const std::string& socket);

// One Apply RPC with a deadline; fails on a gRPC error.
absl::Status Apply(ferry::v1::ResourceService::Stub* stub,
                   const std::vector<ferry::v1::Object>& objects, double timeout = 600);

// A Masquerade forward: only its frontend node installs anything.
ferry::v1::Object MasqueradeForward(const std::string& name, const std::string& node,
                                    const std::string& address, uint32_t port,
                                    uint32_t target_port);

// The forward as `ferryctl apply -f` reads it.
std::string ForwardYaml(const ferry::v1::Object& forward);

}  // namespace ferry::bench

#endif  // FERRY_TESTS_BENCH_CONTROLLER_PROCESS_H_
