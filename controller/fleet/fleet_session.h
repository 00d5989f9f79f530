#ifndef FERRY_CONTROLLER_FLEET_FLEET_SESSION_H_
#define FERRY_CONTROLLER_FLEET_FLEET_SESSION_H_

// One agent stream as FleetReconciler keeps it; shared by its pass
// (fleet_reconciler.cc) and its stream callbacks (fleet_sessions.cc).

#include <cstdint>
#include <string>

#include "controller/fleet/fleet_reconciler.h"

namespace ferry::controller {

class SessionHandle {
 public:
  virtual ~SessionHandle() = default;
};

struct FleetReconciler::Session : public SessionHandle {
  uint64_t id = 0;
  std::string node;
  PushSink* sink = nullptr;
  bool active = true;  // false once replaced by a newer stream
  uint64_t nonce = 0;
  std::string last_nonce;      // of the last push; only its ACK counts
  std::string pushed_version;  // empty until the first (full) push
  bool delta_capable = false;  // the agent applies NodeConfigDelta
  // The agent ACKed the last push on this stream, so it holds exactly
  // NodeState::acked and a delta on top of it applies.
  bool last_push_acked = false;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_FLEET_SESSION_H_
