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

// The table as `state` + `plan` leave it, as the kernel commits it: a
// rebuild starts from an empty table of Ferry's own structure.
NatState NatStateAfter(NatState state, const NatPlan& plan);

// The one batch that undoes `applied`, which committed over `before`: every
// key it touched gets its value in `before` back (or is deleted), and a
// rebuilt table gets all of `before`'s elements back. A table that did not
// exist before stays, empty: Ferry keeps its table once created. So
// NatStateAfter(NatStateAfter(before, applied), undo) holds `before`'s
// elements (and Ferry's structure, not any drifted one).
NatPlan UndoNat(const NatState& before, const NatPlan& applied);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_RECONCILE_DIFF_H_
