#ifndef FERRY_NODE_AGENT_PROBE_PROBER_H_
#define FERRY_NODE_AGENT_PROBE_PROBER_H_

// What one data-path probe is, what it found, and the interface of what
// runs it (SocketProber in socket_prober.h; a fake in the unit tests). The
// scheduling (probe_scheduler.h) knows only this interface.

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "api/lib/ip_address.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// A probe's timeout when the rule gives none (DnatRule.probe_timeout_seconds 0).
inline constexpr absl::Duration kDefaultProbeTimeout = absl::Seconds(2);

// One probe of one DNAT rule: a connection from `frontend` (an ephemeral
// port) to frontend:port, marked kProbeMark, which table inet ferry's output
// chain DNATs through the rule's own map element to backend:target_port.
struct ProbeTarget {
  IpAddress frontend;
  uint16_t port = 0;  // the rule's first port
  uint8_t protocol = kProtoTcp;
  IpAddress backend;
  uint16_t target_port = 0;  // what `port` maps to
  absl::Duration timeout = kDefaultProbeTimeout;
  bool operator==(const ProbeTarget&) const = default;
};

// DataPathVerdict.status: True, False or Unknown.
enum class ProbeStatus : uint8_t { kTrue, kFalse, kUnknown };

struct ProbeResult {
  ProbeStatus status = ProbeStatus::kUnknown;
  // What was found, naming backend and frontend, e.g. "no SYN-ACK from
  // 10.8.0.2:8080 via 192.0.2.1:80 within 2s".
  std::string message;
  bool operator==(const ProbeResult&) const = default;
};

// "False: connection refused by ...", for logs and test failures.
std::ostream& operator<<(std::ostream& out, const ProbeResult& result);

// "True", "False", "Unknown" (the condition's status) and the matching
// reason: Verified, ProbeFailed, Unproven (api/lib/conditions.h).
const char* StatusName(ProbeStatus status);
const char* ReasonOf(ProbeStatus status);

// "10.8.0.2:8080", "[2001:db8::2]:8080".
std::string Endpoint(const IpAddress& address, uint16_t port);

class Prober {
 public:
  using Done = std::function<void(ProbeResult)>;

  virtual ~Prober() = default;

  // Starts one probe and returns at once. `done` runs exactly once with the
  // result: on the prober's thread, or inside Probe when the probe cannot
  // even start. So a caller must not hold, while calling Probe, a lock
  // that `done` takes.
  virtual void Probe(const ProbeTarget& target, Done done) = 0;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_PROBE_PROBER_H_
