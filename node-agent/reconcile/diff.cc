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
  // The mark table is a handful of elements: any difference rebuilds it.
  if (current.marks != desired.marks || current.marks_drift != desired.marks_drift) {
    plan.marks = desired.marks;
  }
  return plan;
}

NatState NatStateAfter(NatState state, const NatPlan& plan) {
  if (plan.create_table) {
    state = NatState{};
    state.table_present = true;
  }
  for (const DnatKey& key : plan.dnat_delete) state.dnat.erase(key);
  for (const MasqKey& key : plan.masq_delete) state.masq.erase(key);
  for (const auto& [key, target] : plan.dnat_add) state.dnat.insert_or_assign(key, target);
  for (const auto& [key, comment] : plan.masq_add) state.masq.insert_or_assign(key, comment);
  return state;
}

namespace {

// Puts every key of `touched` back as `before` has it.
template <typename K, typename V>
void Restore(const std::set<K>& touched, const std::map<K, V>& before,
             std::vector<std::pair<K, V>>& add, std::vector<K>& del) {
  for (const K& key : touched) {
    if (auto it = before.find(key); it != before.end()) {
      add.emplace_back(key, it->second);
    } else {
      del.push_back(key);
    }
  }
}

}  // namespace

NatPlan UndoNat(const NatState& before, const NatPlan& applied) {
  NatPlan undo;
  if (applied.create_table && before.table_present) {
    // The rebuild dropped every element: all of them come back, in a
    // rebuild again, since the table now holds what `applied` added.
    undo.create_table = true;
    undo.dnat_add.assign(before.dnat.begin(), before.dnat.end());
    undo.masq_add.assign(before.masq.begin(), before.masq.end());
    return undo;
  }
  std::set<DnatKey> dnat;
  std::set<MasqKey> masq;
  for (const auto& [key, target] : applied.dnat_add) dnat.insert(key);
  for (const auto& [key, comment] : applied.masq_add) masq.insert(key);
  if (!applied.create_table) {
    // (A table created from nothing had nothing to delete.)
    dnat.insert(applied.dnat_delete.begin(), applied.dnat_delete.end());
    masq.insert(applied.masq_delete.begin(), applied.masq_delete.end());
  }
  const NatState empty;
  const NatState& was = applied.create_table ? empty : before;
  Restore(dnat, was.dnat, undo.dnat_add, undo.dnat_delete);
  Restore(masq, was.masq, undo.masq_add, undo.masq_delete);
  return undo;
}

}  // namespace ferry::agent
