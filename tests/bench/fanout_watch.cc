#include "tests/bench/fanout_watch.h"

#include "tests/bench/bench_util.h"

namespace ferry::bench {
namespace {

bool IsReady(const ferry::v1::IPForward& f) {
  if (f.status().observed_generation() != f.metadata().generation()) return false;
  for (const ferry::v1::Condition& c : f.status().conditions()) {
    if (c.type() == "Ready") return c.status() == "True";
  }
  return false;
}

}  // namespace

ReadyWatcher::ReadyWatcher(ferry::v1::ResourceService::Stub* stub) : stub_(stub) {
  thread_ = std::thread([this] { Run(); });
  absl::MutexLock l(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&started_), absl::Seconds(10));
}

ReadyWatcher::~ReadyWatcher() {
  context_.TryCancel();
  thread_.join();
}

void ReadyWatcher::Run() {
  ferry::v1::WatchRequest request;
  request.set_kind(ferry::v1::IP_FORWARD);
  std::unique_ptr<grpc::ClientReader<ferry::v1::WatchEvent>> reader =
      stub_->Watch(&context_, request);
  // The call is started once the stream delivers its initial metadata.
  reader->WaitForInitialMetadata();
  {
    absl::MutexLock l(&mu_);
    started_ = true;
  }
  ferry::v1::WatchEvent event;
  while (reader->Read(&event)) {
    const double now = NowSeconds();
    absl::MutexLock l(&mu_);
    last_event_ = now;
    if (!event.object().has_ip_forward()) continue;
    const ferry::v1::IPForward& f = event.object().ip_forward();
    Seen& s = seen_[f.metadata().name()];
    const bool ready = event.type() != ferry::v1::WatchEvent::DELETED && IsReady(f);
    if (ready && f.metadata().generation() > s.generation) {
      s.generation = f.metadata().generation();
      s.at = now;
    }
    if (ready != s.ready_now) ready_ += ready ? 1 : -1;
    s.ready_now = ready;
  }
  reader->Finish();
  absl::MutexLock l(&mu_);
  alive_ = false;
  started_ = true;
}

std::optional<double> ReadyWatcher::WaitReady(const std::string& name, int64_t generation,
                                              double timeout) {
  absl::MutexLock l(&mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = seen_.find(name);
    return !alive_ || (it != seen_.end() && it->second.generation >= generation);
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(timeout))) return std::nullopt;
  auto it = seen_.find(name);
  if (it == seen_.end() || it->second.generation < generation) return std::nullopt;
  return it->second.at;
}

int ReadyWatcher::ReadyCount() {
  absl::MutexLock l(&mu_);
  return ready_;
}

bool ReadyWatcher::WaitReadyCount(int count, double timeout) {
  absl::MutexLock l(&mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !alive_ || ready_ >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(timeout)) && ready_ >= count;
}

double ReadyWatcher::LastEvent() {
  absl::MutexLock l(&mu_);
  return last_event_;
}

bool ReadyWatcher::Alive() {
  absl::MutexLock l(&mu_);
  return alive_;
}

}  // namespace ferry::bench
