#include "controller/cli/interrupt.h"

#include "grpcpp/client_context.h"

namespace ferry::cli {

void WatchCanceller::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  if (context_ != nullptr) context_->TryCancel();
}

bool WatchCanceller::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

void WatchCanceller::Attach(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  context_ = context;
  if (cancelled_) context_->TryCancel();
}

void WatchCanceller::Detach() {
  absl::MutexLock lock(&mu_);
  context_ = nullptr;
}

InterruptWatcher::InterruptWatcher(WatchCanceller& canceller) {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, &old_mask_);
  thread_ = std::thread([this, &canceller] {
    int signal = 0;
    sigwait(&signals_, &signal);
    // The destructor wakes us with SIGTERM to stop; that is no interrupt.
    if (!done_.load()) canceller.Cancel();
  });
}

InterruptWatcher::~InterruptWatcher() {
  done_.store(true);
  // Harmless if the thread already returned after a real signal: it is
  // not joined yet, so its id is still valid.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

}  // namespace ferry::cli
