#ifndef FERRY_CONTROLLER_FLEET_SESSION_REGISTRY_H_
#define FERRY_CONTROLLER_FLEET_SESSION_REGISTRY_H_

// Where agent streams meet the fleet, with gRPC on the other side only: the
// server's AgentSession is a PushSink and tells a SessionRegistry (the
// FleetReconciler) what its agent says.

#include <string>

#include "absl/status/status.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// One agent stream as the fleet sees it. Both calls must not block: they
// are made with the fleet's locks held.
class PushSink {
 public:
  virtual ~PushSink() = default;
  // Enqueues a message for the agent. Taken by value: a full config of
  // 100k forwards is moved in, not copied.
  virtual void Push(ferry::v1::ControllerMessage message) = 0;
  // Ends the stream with `status` (e.g. replaced by a newer one). No Push
  // follows.
  virtual void Close(const absl::Status& status) = 0;
};

// Opaque token for one connected stream; valid until Disconnect.
class SessionHandle {
 public:
  virtual ~SessionHandle() = default;
};

// What a stream tells the fleet. Calls never block on I/O.
class SessionRegistry {
 public:
  virtual ~SessionRegistry() = default;
  // Registers a stream whose Hello (already checked against the
  // connection's identity) names `node_name`. A previous stream of that
  // node is closed with ABORTED. `sink` must outlive Disconnect.
  virtual SessionHandle* Connect(const std::string& node_name, const ferry::v1::Hello& hello,
                                 PushSink* sink) = 0;
  virtual void OnAck(SessionHandle* session, const ferry::v1::ConfigAck& ack) = 0;
  virtual void OnAddresses(SessionHandle* session, const ferry::v1::AddressUpdate& update) = 0;
  virtual void OnDrift(SessionHandle* session, const ferry::v1::DriftReport& report) = 0;
  virtual void OnDataPath(SessionHandle* session, const ferry::v1::DataPathReport& report) = 0;
  // The stream ended; after this returns, `sink` is never used again.
  virtual void Disconnect(SessionHandle* session) = 0;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_SESSION_REGISTRY_H_
