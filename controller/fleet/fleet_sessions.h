#ifndef FERRY_CONTROLLER_FLEET_FLEET_SESSIONS_H_
#define FERRY_CONTROLLER_FLEET_FLEET_SESSIONS_H_

// What agent streams tell the fleet, taken in the order it arrives and
// handed to the part it concerns: streams and ACKs to the PushTracker, what
// an agent says about itself to NodePresence, drift reports to the
// DriftTracker, data-path reports to the DataPathTracker. Each piece of news also becomes the
// events and metrics it means, and kicks a pass.
//
// One piece of news at a time (mu_, taken before any part's lock), so the
// parts see every stream's news in one order: a replaced stream's last
// address update cannot land after its successor's Hello.

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/fleet/datapath_tracker.h"
#include "controller/fleet/dirty_forwards.h"
#include "controller/fleet/drift_tracker.h"
#include "controller/fleet/event_recorder.h"
#include "controller/fleet/fleet_metrics.h"
#include "controller/fleet/node_presence.h"
#include "controller/fleet/push_tracker.h"
#include "controller/fleet/session_registry.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class FleetSessions : public SessionRegistry {
 public:
  // Not owned; each must outlive this.
  struct Parts {
    PushTracker* pushes;
    NodePresence* presence;
    DriftTracker* drift;
    DataPathTracker* data_path;
    DirtyForwards* dirty;
    EventRecorder* events;  // Record only: the pass writes them
    FleetMetrics* metrics;
    std::function<absl::Time()> clock;
    std::function<void()> kick;  // asks for a pass; must not block
  };

  explicit FleetSessions(Parts parts) : parts_(std::move(parts)) {}

  SessionHandle* Connect(const std::string& node_name, const ferry::v1::Hello& hello,
                         PushSink* sink) override;
  void OnAck(SessionHandle* session, const ferry::v1::ConfigAck& ack) override;
  void OnAddresses(SessionHandle* session, const ferry::v1::AddressUpdate& update) override;
  void OnDrift(SessionHandle* session, const ferry::v1::DriftReport& report) override;
  void OnDataPath(SessionHandle* session, const ferry::v1::DataPathReport& report) override;
  void Disconnect(SessionHandle* session) override;

  // After the Node was deleted (and its certificates revoked): ends its
  // stream with `why` and stops writing the Node back, so the deletion
  // holds until the node joins again.
  void ForgetNode(const std::string& node_name, const absl::Status& why);

 private:
  // ApplyFailed events and counts for a NACK or an ACK with failed forwards.
  void RecordApplyFailure(const std::string& node, const ferry::v1::ConfigAck& ack);

  const Parts parts_;
  // Orders news; guards no data of its own.
  absl::Mutex mu_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_FLEET_SESSIONS_H_
