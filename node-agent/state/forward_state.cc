#include "node-agent/state/forward_state.h"

#include <utility>

#include "absl/status/status.h"

namespace ferry::agent {
namespace {

// Sets `key`'s sharers as `touched` has them (none: erased).
template <typename K>
void CommitSharers(const std::map<K, std::vector<std::string>>& change,
                   std::map<K, std::vector<std::string>>& sharers) {
  for (const auto& [key, list] : change) {
    if (list.empty()) {
      sharers.erase(key);
    } else {
      sharers[key] = list;
    }
  }
}

// The touched elements as they became: present in `nat`, or gone.
template <typename K, typename V>
void Collect(const std::set<K>& touched, const std::map<K, V>& nat,
             const std::map<K, std::vector<std::string>>& sharers,
             std::map<K, std::optional<V>>& values,
             std::map<K, std::vector<std::string>>& change_sharers) {
  for (const K& key : touched) {
    auto it = nat.find(key);
    values.emplace_hint(values.end(), key,
                        it == nat.end() ? std::nullopt : std::optional<V>(it->second));
    auto s = sharers.find(key);
    change_sharers.emplace_hint(change_sharers.end(), key,
                                s == sharers.end() ? std::vector<std::string>() : s->second);
  }
}

}  // namespace

ForwardState ForwardState::Of(const ferry::v1::NodeConfig& config,
                              const std::set<std::string>& left_out, Sharers sharers) {
  ForwardState state;
  state.forwards_ = ferry::api::IndexByForward(config);
  for (const std::string& name : left_out) state.forwards_.erase(name);
  state.sharers_ = std::move(sharers);
  return state;
}

absl::StatusOr<DesiredChange> ForwardState::Plan(const ferry::api::ForwardUpdates& updates,
                                                 const NatState& nat) const {
  NatState touched;
  Sharers touched_sharers;
  ElementOwners owners(&touched, &touched_sharers, &nat, &sharers_);
  DesiredChange change;
  // Every updated forward gives up what it held before any claims again,
  // so a claim meets only the owners that remain.
  for (const auto& [name, update] : updates) {
    auto old = forwards_.find(name);
    if (old == forwards_.end()) continue;
    for (const ferry::v1::DnatRule& rule : old->second.dnat) ReleaseDnatElements(rule, owners);
    for (const ferry::v1::ReturnRoute& route : old->second.returns) {
      absl::StatusOr<DesiredReturn> r = ExpandReturn(route, 0);
      if (r.ok()) change.returns_removed.push_back(*std::move(r));
    }
  }
  for (const auto& [name, update] : updates) {
    bool alert = false;
    for (const auto& [index, rule] : update.dnat) {
      if (absl::Status s = ClaimDnatElements(*rule, index, owners); !s.ok()) return s;
      alert = alert || rule->alert_only();
    }
    for (const auto& [index, route] : update.returns) {
      absl::StatusOr<DesiredReturn> r = ExpandReturn(*route, index);
      if (!r.ok()) return r.status();
      alert = alert || route->alert_only();
      change.returns_added.push_back(*std::move(r));
    }
    if (!update.removes()) change.alert[name] = alert;
  }
  Collect(owners.touched_dnat(), touched.dnat, touched_sharers.dnat, change.dnat,
          change.dnat_sharers);
  Collect(owners.touched_masq(), touched.masq, touched_sharers.masq, change.masq,
          change.masq_sharers);
  return change;
}

void ForwardState::Commit(const ferry::api::ForwardUpdates& updates, const DesiredChange& change) {
  ferry::api::ApplyUpdates(updates, &forwards_);
  CommitSharers(change.dnat_sharers, sharers_.dnat);
  CommitSharers(change.masq_sharers, sharers_.masq);
}

}  // namespace ferry::agent
