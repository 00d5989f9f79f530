#ifndef FERRY_NODE_AGENT_RECONCILE_DIFF_H_
#define FERRY_NODE_AGENT_RECONCILE_DIFF_H_

// Pure deltas between two kernel states: what to add, replace and delete so
// that `current` becomes `desired`. Unchanged entries never appear in a plan.

#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// create_table when the table is missing or its structure differs from
// the desired one (then with every desired element). A changed target (address, port
// or comment) is an add: the backend replaces the element in the same batch.
NatPlan DiffNat(const NatState& current, const NatState& desired);

// A table whose via changes is a route add only (routes are NLM_F_REPLACE
// upserts, at most one per table), never a delete of the table.
RoutePlan DiffRoutes(const RouteState& current, const RouteState& desired);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_RECONCILE_DIFF_H_
