#ifndef FERRY_CONTROLLER_FLEET_EVENT_RECORDER_H_
#define FERRY_CONTROLLER_FLEET_EVENT_RECORDER_H_

// Turns things that happened (drift found or repaired, a rejected push, an
// agent coming or going) into Event objects in the store, deduplicated as
// Kubernetes events are: one object per (involved object, reason, node,
// drifted object), whose count and lastTimestamp grow on each repeat.
//
// Record() only queues, so it is safe from gRPC reactions; Flush() does the
// store I/O and must be called from one thread (the reconcile loop).

#include <cstddef>
#include <deque>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

inline constexpr char kEventDriftDetected[] = "DriftDetected";
inline constexpr char kEventDriftRepaired[] = "DriftRepaired";
inline constexpr char kEventApplyFailed[] = "ApplyFailed";
inline constexpr char kEventNodeDisconnected[] = "NodeDisconnected";
inline constexpr char kEventNodeConnected[] = "NodeConnected";
inline constexpr char kEventDataPathFailed[] = "DataPathFailed";
inline constexpr char kEventDataPathRestored[] = "DataPathRestored";
inline constexpr char kEventRolledBack[] = "RolledBack";
inline constexpr char kEventTypeNormal[] = "Normal";
inline constexpr char kEventTypeWarning[] = "Warning";

// One happening, before deduplication.
struct EventOccurrence {
  std::string involved_kind;  // IPForward or Node
  std::string involved_name;
  std::string reason;  // kEvent*
  std::string type;    // kEventTypeNormal or kEventTypeWarning
  std::string node;    // the node that reported it
  // What it is about within the involved object, e.g. the drifted kernel
  // object; part of the dedup key, may be empty.
  std::string object;
  std::string message;
  absl::Time time;
};

// "<involved name>.<8 hex digits of a hash of the dedup key>": stable, so
// a repeat finds the same object.
std::string EventName(const EventOccurrence& occurrence);

// Reasons that are worth waking someone for: everything but NodeConnected.
bool IsAlertReason(const std::string& reason);

// The webhook body: {"event": <the Event as protobuf JSON>}.
std::string EventWebhookBody(const ferry::v1::Event& event);

class EventRecorder {
 public:
  struct Options {
    // Events kept in the store; the least recently seen are deleted first.
    size_t max_events = 1000;
    // Occurrences waiting for Flush; the oldest are dropped beyond this.
    size_t max_pending = 10000;
    // Called by Flush for each Event it wrote (after the commit), with the
    // updated count. Must not block.
    std::function<void(const ferry::v1::Event&)> on_written;
  };

  EventRecorder(Store* store, Options options);

  // Queues an occurrence. Never blocks on I/O.
  void Record(EventOccurrence occurrence);

  // Writes every queued occurrence in one commit, then deletes the oldest
  // events beyond max_events. On a failed commit the occurrences stay
  // queued for the next Flush.
  absl::Status Flush();

 private:
  absl::Status Prune();

  Store* const store_;
  const Options options_;
  absl::BitGen bitgen_;  // used by Flush only

  absl::Mutex mu_;
  std::deque<EventOccurrence> pending_ ABSL_GUARDED_BY(mu_);
  size_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_EVENT_RECORDER_H_
