#ifndef FERRY_NODE_AGENT_STATE_IPV6_FORWARDS_H_
#define FERRY_NODE_AGENT_STATE_IPV6_FORWARDS_H_

// Which forwards of a push need IPv6 on this node, for a node whose kernel
// cannot serve IPv6 (the boundary leaves them out: desired_update.h's
// LeftOut). Pure: no kernel access.
//
// An entry needs IPv6 when its frontend (DNAT) or source (return route)
// address is IPv6 literal text (holds a ':'); an invalid one is left to
// validation, which sees only the entries that are kept.

#include <map>
#include <string>

#include "ferry/v1/ferry.pb.h"

namespace ferry::agent {

// True if the push has an IPv6 entry or asks for IPv6 forwarding.
bool NeedsIpv6(const ferry::v1::NodeConfig& config);
bool NeedsIpv6(const ferry::v1::NodeConfigDelta& delta);

// Forward name -> its first IPv6 address, for every forward with an IPv6 entry.
std::map<std::string, std::string> Ipv6Forwards(const ferry::v1::NodeConfig& config);
std::map<std::string, std::string> Ipv6Forwards(const ferry::v1::NodeConfigDelta& delta);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_STATE_IPV6_FORWARDS_H_
