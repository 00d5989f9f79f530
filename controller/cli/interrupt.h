#ifndef FERRY_CONTROLLER_CLI_INTERRUPT_H_
#define FERRY_CONTROLLER_CLI_INTERRUPT_H_

// Ending a blocking Watch from outside: `get -w` runs until the user presses
// Ctrl-C, which must end the stream cleanly (exit 0), not kill the process.

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace ferry::cli {

// Cancels the Watch running under it, now or when it starts. Thread-safe.
class WatchCanceller {
 public:
  void Cancel();
  bool cancelled() const;

  // Called by ResourceClient around a Watch call.
  void Attach(grpc::ClientContext* context);
  void Detach();

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// While alive, SIGINT and SIGTERM cancel `canceller` instead of ending the
// process. Create it before any other thread (gRPC's included), so every
// thread inherits the blocked mask and one thread receives the signal.
class InterruptWatcher {
 public:
  explicit InterruptWatcher(WatchCanceller& canceller);
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

 private:
  sigset_t signals_;
  sigset_t old_mask_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_INTERRUPT_H_
