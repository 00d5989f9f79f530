#ifndef FERRY_NODE_AGENT_RECONCILE_DRIFT_H_
#define FERRY_NODE_AGENT_RECONCILE_DRIFT_H_

// Pure drift comparison: what Ferry committed versus what the kernel holds,
// as readable items attributed to forwards, and the kernel state that
// repairs exactly the Enforce part of it. No kernel access.
//
// Policy for node-wide objects (the table itself, sysctls): they are
// repaired when ANY forward on the node is Enforce, or when the node has no
// forwards at all; only when every forward is Alert is a deleted table or a
// reset sysctl left as found. Repairing the table restores only the Enforce
// forwards' elements: Alert forwards' elements stay missing and are
// reported. One Alert forward must not be able to veto the repair of its
// Enforce neighbours, and an Alert forward never gets anything put back.

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "node-agent/state/desired_state.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// What the reconciler committed to the kernel, with who owns what.
struct Intent {
  NatState nat;
  RouteState routes;
  std::vector<DesiredReturn> returns;  // attributes rules and routes to forwards
  std::set<std::string> alert_forwards;
  std::map<std::string, std::string> sysctls;  // key -> the value Ferry keeps there
};

// What one check read from the kernel.
struct Observed {
  NatState nat;
  RouteState routes;
  std::map<std::string, std::string> sysctls;  // key -> value, whitespace trimmed
};

// One difference; rendered like `nft list` / `ip rule` output.
struct Drift {
  std::string forward;   // "" for node-wide objects and unattributable leftovers
  std::string object;    // e.g. "map dnat4 element 192.0.2.1 . tcp . 80"
  std::string kind;      // nftables, rule, route or sysctl
  std::string expected;  // "" when the object should not exist
  std::string found;     // "" when the object is missing
  bool repair = false;   // the policy says: put it back
  bool operator==(const Drift&) const = default;
};

// True for the items of table inet ferry_return (the return marks), which
// are repaired with the rules and routes, not with table inet ferry.
bool IsMarkTableObject(const std::string& object);

// True when node-wide objects are repaired (see the policy above).
bool RepairsNodeWide(const Intent& intent);

// Every difference between `committed` and `observed`. A missing table is
// one node-wide item plus one item per forward that had elements in it.
std::vector<Drift> FindDrift(const Intent& committed, const Observed& observed);

// The NAT state to converge on: `desired`, except that elements owned by an
// Alert forward and unchanged between `previous` and `desired` stay as
// `kernel` has them (drifted or not). Drift repair passes previous ==
// desired; a config apply passes the intent it replaces, so a push for one
// forward never repairs another forward's Alert drift.
NatState NatTarget(const Intent& desired, const Intent& previous, const NatState& kernel);
// The same for rules and routes.
RouteState RouteTarget(const Intent& desired, const Intent& previous, const RouteState& kernel);

// Sysctl writes that repair the Enforce part of `drift`.
std::vector<std::pair<std::string, std::string>> SysctlRepairs(const Intent& committed,
                                                               const std::vector<Drift>& drift);

// What one drift check reads from the kernel; the rest is taken as the
// reconciler last left it (e.g. NAT when the ruleset generation shows no
// foreign change since the last verification).
struct DriftCheck {
  bool nat = true;
  bool routes = true;
  bool sysctls = true;
};

// What one check found (see DriftChecker).
struct DriftOutcome {
  bool checked = false;  // false before the first config is applied
  absl::Status error;    // reading the kernel failed; nothing was compared
  std::vector<Drift> items;
  std::vector<bool> repaired;  // per item: the repair was applied
  bool in_sync = true;         // the kernel matches the intent after repairs
  std::string config_version;
};

// At most `max` items: the rest are folded into one summary item, so a
// flushed 100k-element table does not make a 100k-item report.
std::vector<Drift> CapDrift(std::vector<Drift> drift, size_t max);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_RECONCILE_DRIFT_H_
