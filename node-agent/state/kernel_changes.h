#ifndef FERRY_NODE_AGENT_STATE_KERNEL_CHANGES_H_
#define FERRY_NODE_AGENT_STATE_KERNEL_CHANGES_H_

// What applying a config would change in this node's kernel, without
// changing it (Reconciler::Preview, for ResourceService.Diff): the state
// the kernel holds and the state a push would leave it in, so a changed,
// added or deleted object can be told from the two. Rendered as lines by
// kernel/plan_lines.h.

#include <string>
#include <vector>

#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// One sysctl write: `key` from `from` (as read, whitespace trimmed) to `to`.
struct SysctlChange {
  std::string key;
  std::string from;
  std::string to;
  bool operator==(const SysctlChange&) const = default;
};

struct KernelChanges {
  NatState nat_before;       // table inet ferry as read
  NatState nat_after;        // as the push's one batch would leave it
  RouteState routes_before;  // rules, routes and return marks as read
  RouteState routes_after;
  std::vector<SysctlChange> sysctls;  // in the order they would be written

  bool empty() const {
    return nat_before == nat_after && routes_before == routes_after && sysctls.empty();
  }
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_STATE_KERNEL_CHANGES_H_
