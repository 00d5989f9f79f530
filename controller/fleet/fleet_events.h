#ifndef FERRY_CONTROLLER_FLEET_FLEET_EVENTS_H_
#define FERRY_CONTROLLER_FLEET_FLEET_EVENTS_H_

// The events of an agent's stream and of its answers to pushes, as pure
// functions of what happened; drift events come from DriftTracker.

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controller/fleet/event_recorder.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// NodeConnected (Normal) or NodeDisconnected (Warning), about the Node.
EventOccurrence NodeStreamEvent(const std::string& node, bool connected, absl::Time when);

// ApplyFailed (Warning): one about the Node for a NACK that names no
// forward, else one per failed forward in name order, with the agent's error.
std::vector<EventOccurrence> ApplyFailedEvents(const std::string& node,
                                               const ferry::v1::ConfigAck& ack, absl::Time when);

// RolledBack (Warning), about the IPForward: a commit-confirmed change was
// undone; `what` says which generations and why.
EventOccurrence RolledBackEvent(const std::string& forward, const std::string& what,
                                absl::Time when);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_FLEET_EVENTS_H_
