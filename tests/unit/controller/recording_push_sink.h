#ifndef FERRY_TESTS_UNIT_CONTROLLER_RECORDING_PUSH_SINK_H_
#define FERRY_TESTS_UNIT_CONTROLLER_RECORDING_PUSH_SINK_H_

// What the fleet tests stand in for an agent's stream with: a PushSink
// that keeps every push it was given and how it was closed.

#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/fleet/session_registry.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class RecordingPushSink : public PushSink {
 public:
  void Push(ferry::v1::ControllerMessage message) override {
    // As the agent reads it: the fleet may send the push encoded.
    ferry::v1::ControllerMessage received;
    received.ParseFromString(message.SerializeAsString());
    absl::MutexLock l(&mu_);
    pushes_.push_back(received.push());
  }
  void Close(const absl::Status& status) override {
    absl::MutexLock l(&mu_);
    closed_ = status;
  }

  int count() {
    absl::MutexLock l(&mu_);
    return static_cast<int>(pushes_.size());
  }
  // The last push; an empty one before the first.
  ferry::v1::ConfigPush last() {
    absl::MutexLock l(&mu_);
    return pushes_.empty() ? ferry::v1::ConfigPush() : pushes_.back();
  }
  // How the stream was closed; none while it is open.
  std::optional<absl::Status> closed() {
    absl::MutexLock l(&mu_);
    return closed_;
  }
  // Whether `n` pushes came within ten seconds (for a running loop).
  bool WaitForPushes(int n) {
    absl::MutexLock l(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return static_cast<int>(pushes_.size()) >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }

 private:
  absl::Mutex mu_;
  std::vector<ferry::v1::ConfigPush> pushes_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> closed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controller

#endif  // FERRY_TESTS_UNIT_CONTROLLER_RECORDING_PUSH_SINK_H_
