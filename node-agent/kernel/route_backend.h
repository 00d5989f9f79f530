#ifndef FERRY_NODE_AGENT_KERNEL_ROUTE_BACKEND_H_
#define FERRY_NODE_AGENT_KERNEL_ROUTE_BACKEND_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// rtm_protocol / FRA_PROTOCOL value marking Ferry's routes and rules, so the
// agent dumps and prunes only what it created. Private range (> RTPROT_STATIC
// and unassigned in /etc/iproute2/rt_protos).
inline constexpr uint8_t kFerryRouteProtocol = 0xfe;

class RouteBackend {
 public:
  virtual ~RouteBackend() = default;
  // Dumps rules and routes (both families) that are Ferry's: carrying
  // kFerryRouteProtocol and in Ferry's table range, both.
  virtual absl::StatusOr<RouteState> Load() = 0;
  // Routes first (so a rule never points at an empty table), then rules;
  // deletes in the reverse order. Each message is ACKed.
  virtual absl::Status Apply(const RoutePlan& plan) = 0;
};

// Reads and writes /proc/sys keys such as "net/ipv4/ip_forward".
class SysctlBackend {
 public:
  virtual ~SysctlBackend() = default;
  virtual absl::StatusOr<std::string> Read(const std::string& key) = 0;
  virtual absl::Status Write(const std::string& key, const std::string& value) = 0;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_ROUTE_BACKEND_H_
