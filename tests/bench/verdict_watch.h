#ifndef FERRY_TESTS_BENCH_VERDICT_WATCH_H_
#define FERRY_TESTS_BENCH_VERDICT_WATCH_H_

// Follows IPForward statuses through the controller's WatchBatches RPC and
// records, per forward, when it was first seen Ready and when its
// DataPathVerified condition first held a verdict (True or False, not
// Unknown), so the probe benchmark can time "apply -> every forward probed"
// without polling the controller.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace ferry::bench {

class VerdictWatcher {
 public:
  // Starts watching from the controller's current revision: only forwards
  // that change after this are seen.
  explicit VerdictWatcher(ferry::v1::ResourceService::Stub* stub);
  ~VerdictWatcher();
  VerdictWatcher(const VerdictWatcher&) = delete;
  VerdictWatcher& operator=(const VerdictWatcher&) = delete;

  struct Counts {
    int ready = 0;             // forwards Ready at their generation now
    int verdicts = 0;          // forwards whose DataPathVerified was ever True or False
    int verified = 0;          // of which True now
    int failed = 0;            // of which False now
    double last_ready = 0;     // NowSeconds() when a forward first became Ready, latest
    double first_verdict = 0;  // NowSeconds() of the first forward's first verdict
    double last_verdict = 0;   // ... and the latest forward's first verdict
    std::string failure;       // one False condition's message, if any
  };
  Counts counts();

  // Waits until `done(counts)` holds, or `timeout` seconds pass, or the
  // stream ends. Returns whether it holds.
  bool WaitFor(const std::function<bool(const Counts&)>& done, double timeout);
  // False once the stream ended (e.g. the controller cut it off); `error`
  // says why.
  bool Alive();
  std::string error();

 private:
  struct Seen {
    bool ready = false;
    bool verdict = false;  // ever True or False
    std::string status;    // DataPathVerified's status now
  };
  void Run();

  ferry::v1::ResourceService::Stub* const stub_;
  grpc::ClientContext context_;
  absl::Mutex mu_;
  std::map<std::string, Seen> seen_ ABSL_GUARDED_BY(mu_);
  Counts counts_ ABSL_GUARDED_BY(mu_);
  bool alive_ ABSL_GUARDED_BY(mu_) = true;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::string error_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace ferry::bench

#endif  // FERRY_TESTS_BENCH_VERDICT_WATCH_H_
