#include "tests/bench/verdict_watch.h"

#include "absl/strings/str_cat.h"
#include "api/lib/conditions.h"
#include "tests/bench/bench_util.h"

namespace ferry::bench {

VerdictWatcher::VerdictWatcher(ferry::v1::ResourceService::Stub* stub) : stub_(stub) {
  thread_ = std::thread([this] { Run(); });
  absl::MutexLock l(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&started_), absl::Seconds(10));
}

VerdictWatcher::~VerdictWatcher() {
  context_.TryCancel();
  thread_.join();
}

void VerdictWatcher::Run() {
  ferry::v1::WatchRequest request;
  request.set_kind(ferry::v1::IP_FORWARD);
  std::unique_ptr<grpc::ClientReader<ferry::v1::WatchEventBatch>> reader =
      stub_->WatchBatches(&context_, request);
  // The call is started once the stream delivers its initial metadata.
  reader->WaitForInitialMetadata();
  {
    absl::MutexLock l(&mu_);
    started_ = true;
  }
  ferry::v1::WatchEventBatch batch;
  while (reader->Read(&batch)) {
    const double now = NowSeconds();
    absl::MutexLock l(&mu_);
    for (const ferry::v1::WatchEvent& event : batch.events()) {
      if (!event.object().has_ip_forward()) continue;
      const ferry::v1::IPForward& f = event.object().ip_forward();
      Seen& s = seen_[f.metadata().name()];
      const bool deleted = event.type() == ferry::v1::WatchEvent::DELETED;
      const auto& conditions = f.status().conditions();
      const bool ready = !deleted &&
                         f.status().observed_generation() == f.metadata().generation() &&
                         api::ConditionStatus(conditions, api::kConditionReady) == "True";
      if (ready && !s.ready) counts_.last_ready = now;
      if (ready != s.ready) counts_.ready += ready ? 1 : -1;
      s.ready = ready;

      const std::string status =
          deleted ? "" : api::ConditionStatus(conditions, api::kConditionDataPathVerified);
      if ((status == "True" || status == "False") && !s.verdict) {
        s.verdict = true;
        ++counts_.verdicts;
        if (counts_.first_verdict == 0) counts_.first_verdict = now;
        counts_.last_verdict = now;
      }
      if (s.status != status) {
        if (s.status == "True") --counts_.verified;
        if (s.status == "False") --counts_.failed;
        if (status == "True") ++counts_.verified;
        if (status == "False") {
          ++counts_.failed;
          const ferry::v1::Condition* c =
              api::FindCondition(conditions, api::kConditionDataPathVerified);
          if (c != nullptr && counts_.failure.empty()) {
            counts_.failure = absl::StrCat(f.metadata().name(), ": ", c->message());
          }
        }
        s.status = status;
      }
    }
  }
  grpc::Status status = reader->Finish();
  absl::MutexLock l(&mu_);
  alive_ = false;
  started_ = true;
  error_ = status.ok() ? "the watch ended" : status.error_message();
}

VerdictWatcher::Counts VerdictWatcher::counts() {
  absl::MutexLock l(&mu_);
  return counts_;
}

bool VerdictWatcher::WaitFor(const std::function<bool(const Counts&)>& done, double timeout) {
  absl::MutexLock l(&mu_);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !alive_ || done(counts_); };
  mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(timeout));
  return done(counts_);
}

bool VerdictWatcher::Alive() {
  absl::MutexLock l(&mu_);
  return alive_;
}

std::string VerdictWatcher::error() {
  absl::MutexLock l(&mu_);
  return error_;
}

}  // namespace ferry::bench
