#ifndef FERRY_TESTS_BENCH_FANOUT_WATCH_H_
#define FERRY_TESTS_BENCH_FANOUT_WATCH_H_

// Follows IPForward statuses through the controller's Watch RPC and records
// when each forward first became Ready at each generation, so a benchmark
// can wait for "every involved agent ACKed generation g" without polling.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace ferry::bench {

class ReadyWatcher {
 public:
  // Starts watching from the controller's current revision.
  explicit ReadyWatcher(ferry::v1::ResourceService::Stub* stub);
  ~ReadyWatcher();
  ReadyWatcher(const ReadyWatcher&) = delete;
  ReadyWatcher& operator=(const ReadyWatcher&) = delete;

  // NowSeconds() at which `name` was first seen Ready with observedGeneration
  // >= `generation`; waits up to `timeout` seconds for it.
  std::optional<double> WaitReady(const std::string& name, int64_t generation, double timeout);
  // Forwards currently Ready at their latest generation.
  int ReadyCount();
  // Waits until `count` forwards are Ready, up to `timeout` seconds.
  bool WaitReadyCount(int count, double timeout);
  // NowSeconds() of the last event received (0: none yet).
  double LastEvent();
  // False once the stream ended (e.g. the controller went away).
  bool Alive();

 private:
  struct Seen {
    int64_t generation = 0;  // highest generation seen Ready
    double at = 0;           // when it was first seen Ready at it
    bool ready_now = false;
  };
  void Run();

  ferry::v1::ResourceService::Stub* const stub_;
  grpc::ClientContext context_;
  absl::Mutex mu_;
  std::map<std::string, Seen> seen_ ABSL_GUARDED_BY(mu_);
  int ready_ ABSL_GUARDED_BY(mu_) = 0;
  double last_event_ ABSL_GUARDED_BY(mu_) = 0;
  bool alive_ ABSL_GUARDED_BY(mu_) = true;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace ferry::bench

#endif  // FERRY_TESTS_BENCH_FANOUT_WATCH_H_
