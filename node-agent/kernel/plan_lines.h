#ifndef FERRY_NODE_AGENT_KERNEL_PLAN_LINES_H_
#define FERRY_NODE_AGENT_KERNEL_PLAN_LINES_H_

// What a push would change in the kernel (state/kernel_changes.h) as the
// lines `ferryctl diff` prints, in the notations `nft list` and `ip rule`
// / `ip route` use, the same ones the netlink messages are labelled with:
//   + table inet ferry
//   + map dnat4 element 192.0.2.1 . tcp . 80 : 10.8.0.2 . 8080 comment "ipforward/web"
//   - set masq4 element 10.8.0.2 . tcp . 8080 comment "ipforward/web"
//   + table inet ferry_return map marks element "wg0" : 0x01000000
//   + rule from 10.8.0.2 ipproto tcp sport 8080 lookup 7100 priority 10000
//   + route default via 10.8.0.1 table 7100
//   - sysctl net/ipv4/ip_forward = 0
//   + sysctl net/ipv4/ip_forward = 1
// Pure.

#include <cstddef>
#include <string>
#include <vector>

#include "node-agent/state/kernel_changes.h"

namespace ferry::agent {

// Most lines one answer carries (~1 MB); the rest are counted in a last
// line instead of sent.
inline constexpr size_t kMaxPlanLines = 10000;

// "+" for an object the push adds, "-" for one it removes; a changed
// element, route, mark or sysctl is its old line then its new one. In a
// fixed order: table inet ferry, its elements (map dnat4, dnat6, set masq4,
// masq6, each by key), table inet ferry_return and its marks, rules,
// routes (by table), sysctls (in write order). A table rebuilt because its
// chains, rules or sets are not Ferry's says so in one line. No lines:
// nothing would change. Beyond `max_lines`, one last line says how many
// more there are.
std::vector<std::string> PlanLines(const KernelChanges& changes, size_t max_lines = kMaxPlanLines);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_PLAN_LINES_H_
