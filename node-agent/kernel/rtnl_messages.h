#ifndef FERRY_NODE_AGENT_KERNEL_RTNL_MESSAGES_H_
#define FERRY_NODE_AGENT_KERNEL_RTNL_MESSAGES_H_

// Pure builders and parsers of rtnetlink route and policy-rule messages
// (and the address dump request).
// Everything Ferry writes carries kFerryRouteProtocol; the family of each
// message is that of its address.

#include <linux/netlink.h>

#include <cstdint>
#include <optional>
#include <string>

#include "node-agent/kernel/netlink_batch.h"
#include "node-agent/state/kernel_state.h"
#include "node-agent/state/route_tables.h"

namespace ferry::agent::rtnl {

// "default via 10.8.0.1 table 7001".
std::string DescribeRoute(const TableRoute& route);
// "from 10.8.0.2 ipproto tcp sport 8080 lookup 7001 priority 100"
// (sport "8080-8090" for a range).
std::string DescribeRule(const PolicyRule& rule);

// RTM_NEWROUTE (create-or-replace) or RTM_DELROUTE of `route`: unicast,
// scope universe, dst_len 0, RTA_TABLE, RTA_GATEWAY, ACKed.
NetlinkBatch BuildRouteMessage(bool add, const TableRoute& route, uint32_t seq);
// RTM_NEWRULE (exclusive create: an identical rule is EEXIST, not a
// duplicate) or RTM_DELRULE: FR_ACT_TO_TBL from src/32|128 with FRA_SRC,
// FRA_PRIORITY, FRA_TABLE, FRA_PROTOCOL, FRA_IP_PROTO, FRA_SPORT_RANGE.
NetlinkBatch BuildRuleMessage(bool add, const PolicyRule& rule, uint32_t seq);

// Dumps of all routes / rules of one family (AF_INET or AF_INET6).
NetlinkBatch BuildRouteDump(int family, uint32_t seq);
NetlinkBatch BuildRuleDump(int family, uint32_t seq);

// A dump of every address of every family (RTM_GETADDR, AF_UNSPEC).
NetlinkBatch BuildAddressDump(uint32_t seq);

// The route or rule in an RTM_NEWROUTE / RTM_NEWRULE message, or nullopt
// when it is not Ferry's (other protocol) or not a shape Ferry writes.
std::optional<TableRoute> ParseRoute(const nlmsghdr* nlh);
std::optional<PolicyRule> ParseRule(const nlmsghdr* nlh);

// What the agent treats as its own, to keep, repair or prune: a route or
// rule tagged kFerryRouteProtocol whose table is in `tables`' range. The
// tag alone is not enough (another tool or an older agent with other
// --table-base may use the same value), nor is the range (an operator may
// put routes in those tables): Ferry never deletes what it cannot tell
// is its own.
std::optional<TableRoute> ParseOwnRoute(const nlmsghdr* nlh, const RouteTableOptions& tables);
std::optional<PolicyRule> ParseOwnRule(const nlmsghdr* nlh, const RouteTableOptions& tables);

}  // namespace ferry::agent::rtnl

#endif  // FERRY_NODE_AGENT_KERNEL_RTNL_MESSAGES_H_
