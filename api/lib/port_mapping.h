#ifndef FERRY_API_LIB_PORT_MAPPING_H_
#define FERRY_API_LIB_PORT_MAPPING_H_

// The one meaning of a port range, for a spec's PortMapping and for the
// DnatRule and ReturnRoute a node receives: endPort 0 (or equal to port)
// means one port, targetPort 0 means "the same port", and a range maps 1:1
// onto target .. target + (end - port). Validation, planning, conflict
// checks, ferryctl's columns and the agent all expand ports here.

#include <cstdint>

#include "ferry/v1/ferry.pb.h"

namespace ferry::api {

// A mapping with its defaults applied. The backend's last port is 64-bit so
// that an out-of-range target (a uint32 on the wire) cannot wrap.
struct PortSpan {
  uint32_t first = 0;         // frontend's first port
  uint32_t last = 0;          // frontend's last port (== first: one port)
  uint32_t target_first = 0;  // backend's first port
  uint64_t target_last = 0;   // backend's last port
  uint32_t count() const { return last - first + 1; }
  bool is_range() const { return last != first; }
  // The backend port that frontend port `port` (first..last) maps to.
  uint32_t TargetOf(uint32_t port) const { return target_first + (port - first); }
};

// Last port of a range given as (port, end_port): end_port 0, or any
// end_port below port, means the single port.
inline uint32_t LastPort(uint32_t port, uint32_t end_port) {
  return end_port > port ? end_port : port;
}

// end_port as the wire carries it: 0 for a single port.
inline uint32_t WireEndPort(uint32_t first, uint32_t last) { return last > first ? last : 0; }

// Expands anything with port(), end_port() and target_port(): a spec's
// PortMapping or a DnatRule.
template <typename Mapping>
PortSpan ExpandPorts(const Mapping& m) {
  PortSpan s;
  s.first = m.port();
  s.last = LastPort(m.port(), m.end_port());
  s.target_first = m.target_port() != 0 ? m.target_port() : m.port();
  s.target_last = uint64_t{s.target_first} + (s.last - s.first);
  return s;
}

// A ReturnRoute has no target: its ports are the backend's own.
inline PortSpan ExpandPorts(const ferry::v1::ReturnRoute& r) {
  PortSpan s;
  s.first = r.port();
  s.last = LastPort(r.port(), r.end_port());
  s.target_first = s.first;
  s.target_last = s.last;
  return s;
}

}  // namespace ferry::api

#endif  // FERRY_API_LIB_PORT_MAPPING_H_
