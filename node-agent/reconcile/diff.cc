#include "node-agent/reconcile/diff.h"

#include <algorithm>
#include <iterator>
#include <set>

namespace ferry::agent {
namespace {

// Adds every desired entry whose value differs; deletes keys no longer wanted.
template <typename K, typename V>
void DiffMap(const std::map<K, V>& current, const std::map<K, V>& desired,
             std::vector<std::pair<K, V>>& add, std::vector<K>& del) {
  for (const auto& [key, value] : desired) {
    auto it = current.find(key);
    if (it == current.end() || !(it->second == value)) add.emplace_back(key, value);
  }
  for (const auto& [key, value] : current) {
    if (!desired.contains(key)) del.push_back(key);
  }
}

template <typename T>
std::vector<T> Minus(const std::vector<T>& a, const std::vector<T>& b) {
  std::set<T> bs(b.begin(), b.end());
  std::vector<T> out;
  for (const T& x : a) {
    if (!bs.contains(x)) out.push_back(x);
  }
  return out;
}

}  // namespace

NatPlan DiffNat(const NatState& current, const NatState& desired) {
  NatPlan plan;
  if (!desired.table_present) {
    // Ferry keeps its table once created; an absent desired table only
    // means "no elements" (and with no table there are none to delete).
    if (!current.table_present) return plan;
    NatState empty;
    empty.table_present = current.table_present;
    return DiffNat(current, empty);
  }
  // A table whose chains, rules or sets are not Ferry's is rebuilt in the
  // same way, in one batch, so traffic never sees a table without them;
  // the rebuilt table starts empty, so every element is added.
  const bool rebuild = current.structure_drift != desired.structure_drift;
  plan.create_table = !current.table_present || rebuild;
  if (rebuild && current.table_present) {
    DiffMap({}, desired.dnat, plan.dnat_add, plan.dnat_delete);
    DiffMap({}, desired.masq, plan.masq_add, plan.masq_delete);
    return plan;
  }
  DiffMap(current.dnat, desired.dnat, plan.dnat_add, plan.dnat_delete);
  DiffMap(current.masq, desired.masq, plan.masq_add, plan.masq_delete);
  return plan;
}

RoutePlan DiffRoutes(const RouteState& current, const RouteState& desired) {
  RoutePlan plan;
  plan.routes_add = Minus(desired.routes, current.routes);
  std::set<uint32_t> desired_tables;
  for (const TableRoute& r : desired.routes) desired_tables.insert(r.table);
  for (const TableRoute& r : Minus(current.routes, desired.routes)) {
    if (!desired_tables.contains(r.table)) plan.routes_delete.push_back(r);
  }
  plan.rules_add = Minus(desired.rules, current.rules);
  plan.rules_delete = Minus(current.rules, desired.rules);
  return plan;
}

}  // namespace ferry::agent
