#ifndef FERRY_NODE_AGENT_STATE_IPV6_FORWARDS_H_
#define FERRY_NODE_AGENT_STATE_IPV6_FORWARDS_H_

// Which forwards of a push need IPv6 on this node, and the push without
// them, for a node whose kernel cannot serve IPv6. Pure: no kernel access.
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

// The push without the entries of `forwards` and without IPv6 forwarding.
// A delta still names those forwards, so whatever this node had installed
// for them is removed.
ferry::v1::NodeConfig WithoutIpv6(const ferry::v1::NodeConfig& config,
                                  const std::map<std::string, std::string>& forwards);
ferry::v1::NodeConfigDelta WithoutIpv6(const ferry::v1::NodeConfigDelta& delta,
                                       const std::map<std::string, std::string>& forwards);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_STATE_IPV6_FORWARDS_H_
