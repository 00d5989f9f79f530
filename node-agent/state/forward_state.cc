#include "node-agent/state/forward_index.h"

#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::agent {
namespace {

// Who asks for one touched key once the updates apply, and with what value
// (all owners must agree on it).
struct DnatClaims {
  std::set<std::string> owners;
  IpAddress addr;
  uint16_t port = 0;
};

template <typename K, typename V>
std::set<std::string> OwnersNow(const K& key, const std::map<K, V>& state,
                                const std::map<K, std::vector<std::string>>& sharers,
                                const std::string& (*comment_of)(const V&)) {
  std::set<std::string> owners;
  auto it = state.find(key);
  if (it == state.end()) return owners;
  owners.insert(ForwardOfComment(comment_of(it->second)));
  auto s = sharers.find(key);
  if (s != sharers.end()) owners.insert(s->second.begin(), s->second.end());
  return owners;
}

const std::string& TargetComment(const DnatTarget& t) { return t.comment; }
const std::string& MasqComment(const std::string& c) { return c; }

// The first owner names the element; the rest share it.
std::vector<std::string> Rest(const std::set<std::string>& owners) {
  return std::vector<std::string>(std::next(owners.begin()), owners.end());
}

}  // namespace

bool SameEntry(const ferry::v1::DnatRule& a, const ferry::v1::DnatRule& b) {
  // Lists every field; forward_index_test checks the count, so a new field
  // cannot be forgotten here.
  return a.forward() == b.forward() && a.generation() == b.generation() &&
         a.frontend_address() == b.frontend_address() && a.protocol() == b.protocol() &&
         a.port() == b.port() && a.end_port() == b.end_port() &&
         a.backend_address() == b.backend_address() && a.target_port() == b.target_port() &&
         a.masquerade() == b.masquerade() && a.alert_only() == b.alert_only();
}

bool SameEntry(const ferry::v1::ReturnRoute& a, const ferry::v1::ReturnRoute& b) {
  return a.forward() == b.forward() && a.generation() == b.generation() &&
         a.source_address() == b.source_address() && a.protocol() == b.protocol() &&
         a.port() == b.port() && a.end_port() == b.end_port() && a.via() == b.via() &&
         a.alert_only() == b.alert_only();
}

absl::StatusOr<ForwardUpdates> UpdatesOfDelta(const ferry::v1::NodeConfigDelta& delta) {
  ForwardUpdates out;
  for (const std::string& name : delta.forwards()) out[name];
  for (int i = 0; i < delta.dnat_size(); ++i) {
    auto it = out.find(delta.dnat(i).forward());
    if (it == out.end()) {
      return absl::InvalidArgumentError(absl::StrCat("dnat[", i, "].forward: \"",
                                                     delta.dnat(i).forward(),
                                                     "\" is not named in the delta's forwards"));
    }
    it->second.dnat.emplace_back(i, &delta.dnat(i));
  }
  for (int i = 0; i < delta.return_routes_size(); ++i) {
    auto it = out.find(delta.return_routes(i).forward());
    if (it == out.end()) {
      return absl::InvalidArgumentError(absl::StrCat("return_routes[", i, "].forward: \"",
                                                     delta.return_routes(i).forward(),
                                                     "\" is not named in the delta's forwards"));
    }
    it->second.returns.emplace_back(i, &delta.return_routes(i));
  }
  return out;
}

ForwardIndex ForwardIndex::FromConfig(const ferry::v1::NodeConfig& config,
                                      const DesiredState& desired) {
  ForwardIndex index;
  index.forwards_.reserve(config.dnat_size());
  for (const ferry::v1::DnatRule& rule : config.dnat()) {
    index.forwards_[rule.forward()].dnat.push_back(rule);
  }
  for (const ferry::v1::ReturnRoute& route : config.return_routes()) {
    index.forwards_[route.forward()].returns.push_back(route);
  }
  index.dnat_sharers_ = desired.dnat_sharers;
  index.masq_sharers_ = desired.masq_sharers;
  return index;
}

ForwardUpdates ForwardIndex::UpdatesTo(const ferry::v1::NodeConfig& config) const {
  absl::flat_hash_map<absl::string_view, ForwardUpdate> groups;
  groups.reserve(forwards_.size());
  for (int i = 0; i < config.dnat_size(); ++i) {
    groups[config.dnat(i).forward()].dnat.emplace_back(i, &config.dnat(i));
  }
  for (int i = 0; i < config.return_routes_size(); ++i) {
    groups[config.return_routes(i).forward()].returns.emplace_back(i, &config.return_routes(i));
  }
  ForwardUpdates out;
  for (auto& [name, update] : groups) {
    auto it = forwards_.find(name);
    bool same = it != forwards_.end() && it->second.dnat.size() == update.dnat.size() &&
                it->second.returns.size() == update.returns.size();
    for (size_t i = 0; same && i < update.dnat.size(); ++i) {
      same = SameEntry(it->second.dnat[i], *update.dnat[i].second);
    }
    for (size_t i = 0; same && i < update.returns.size(); ++i) {
      same = SameEntry(it->second.returns[i], *update.returns[i].second);
    }
    if (!same) out.emplace(std::string(name), std::move(update));
  }
  for (const auto& [name, entries] : forwards_) {
    if (!groups.contains(name)) out[name];
  }
  return out;
}

absl::StatusOr<DesiredChange> ForwardIndex::Plan(const ForwardUpdates& updates,
                                                 const NatState& nat) const {
  std::map<DnatKey, DnatClaims> dnat;
  std::map<MasqKey, std::set<std::string>> masq;
  // The first touch of a key takes its owners as they are, minus every
  // updated forward: those claim again below if they still want it.
  auto dnat_claims = [&](const DnatKey& key) -> DnatClaims& {
    auto [it, inserted] = dnat.try_emplace(key);
    if (inserted) {
      it->second.owners = OwnersNow(key, nat.dnat, dnat_sharers_, &TargetComment);
      std::erase_if(it->second.owners, [&](const std::string& f) { return updates.contains(f); });
      auto n = nat.dnat.find(key);
      if (n != nat.dnat.end()) {
        it->second.addr = n->second.addr;
        it->second.port = n->second.port;
      }
    }
    return it->second;
  };
  auto masq_claims = [&](const MasqKey& key) -> std::set<std::string>& {
    auto [it, inserted] = masq.try_emplace(key);
    if (inserted) {
      it->second = OwnersNow(key, nat.masq, masq_sharers_, &MasqComment);
      std::erase_if(it->second, [&](const std::string& f) { return updates.contains(f); });
    }
    return it->second;
  };

  DesiredChange change;
  for (const auto& [name, update] : updates) {
    auto old = forwards_.find(name);
    if (old == forwards_.end()) continue;
    for (const ferry::v1::DnatRule& rule : old->second.dnat) {
      absl::StatusOr<DnatExpansion> e = ExpandDnat(rule, 0);  // valid when indexed
      if (!e.ok()) continue;
      for (uint32_t port = e->lo; port <= e->hi; ++port) {
        dnat_claims(DnatKey{e->frontend, e->proto, static_cast<uint16_t>(port)});
        if (e->masquerade) masq_claims(MasqKey{e->backend, e->proto, e->TargetOf(port)});
      }
    }
    for (const ferry::v1::ReturnRoute& route : old->second.returns) {
      absl::StatusOr<DesiredReturn> r = ExpandReturn(route, 0);
      if (r.ok()) change.returns_removed.push_back(*std::move(r));
    }
  }
  for (const auto& [name, update] : updates) {
    bool alert = false;
    for (const auto& [index, rule] : update.dnat) {
      absl::StatusOr<DnatExpansion> e = ExpandDnat(*rule, index);
      if (!e.ok()) return e.status();
      alert = alert || rule->alert_only();
      for (uint32_t port = e->lo; port <= e->hi; ++port) {
        DnatClaims& c = dnat_claims(DnatKey{e->frontend, e->proto, static_cast<uint16_t>(port)});
        const uint16_t target = e->TargetOf(port);
        if (!c.owners.empty() && (c.addr != e->backend || c.port != target)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "forward \"", name, "\": dnat[", index, "].port: ", rule->frontend_address(),
              " port ", port, " is already forwarded by ", ForwardComment(*c.owners.begin())));
        }
        c.addr = e->backend;
        c.port = target;
        c.owners.insert(name);
        if (e->masquerade) masq_claims(MasqKey{e->backend, e->proto, target}).insert(name);
      }
    }
    for (const auto& [index, route] : update.returns) {
      absl::StatusOr<DesiredReturn> r = ExpandReturn(*route, index);
      if (!r.ok()) return r.status();
      alert = alert || route->alert_only();
      change.returns_added.push_back(*std::move(r));
    }
    if (!update.dnat.empty() || !update.returns.empty()) change.alert[name] = alert;
  }

  for (const auto& [key, claims] : dnat) {
    if (claims.owners.empty()) {
      change.dnat.emplace(key, std::nullopt);
      change.dnat_sharers.emplace(key, std::vector<std::string>());
      continue;
    }
    change.dnat.emplace(
        key, DnatTarget{claims.addr, claims.port, ForwardComment(*claims.owners.begin())});
    change.dnat_sharers.emplace(key, Rest(claims.owners));
  }
  for (const auto& [key, owners] : masq) {
    if (owners.empty()) {
      change.masq.emplace(key, std::nullopt);
      change.masq_sharers.emplace(key, std::vector<std::string>());
      continue;
    }
    change.masq.emplace(key, ForwardComment(*owners.begin()));
    change.masq_sharers.emplace(key, Rest(owners));
  }
  return change;
}

void ForwardIndex::Commit(const ForwardUpdates& updates, const DesiredChange& change) {
  for (const auto& [name, update] : updates) {
    if (update.dnat.empty() && update.returns.empty()) {
      forwards_.erase(name);
      continue;
    }
    ForwardEntries& entries = forwards_[name];
    entries.dnat.clear();
    entries.returns.clear();
    for (const auto& [index, rule] : update.dnat) entries.dnat.push_back(*rule);
    for (const auto& [index, route] : update.returns) entries.returns.push_back(*route);
  }
  for (const auto& [key, sharers] : change.dnat_sharers) {
    if (sharers.empty()) {
      dnat_sharers_.erase(key);
    } else {
      dnat_sharers_[key] = sharers;
    }
  }
  for (const auto& [key, sharers] : change.masq_sharers) {
    if (sharers.empty()) {
      masq_sharers_.erase(key);
    } else {
      masq_sharers_[key] = sharers;
    }
  }
}

ferry::v1::NodeConfig ForwardIndex::ToConfig(const ForwardUpdates& updates) const {
  std::map<std::string, ForwardEntries> sorted;
  for (const auto& [name, entries] : forwards_) {
    if (!updates.contains(name)) sorted.emplace(name, entries);
  }
  for (const auto& [name, update] : updates) {
    if (update.dnat.empty() && update.returns.empty()) continue;
    ForwardEntries& entries = sorted[name];
    for (const auto& [index, rule] : update.dnat) entries.dnat.push_back(*rule);
    for (const auto& [index, route] : update.returns) entries.returns.push_back(*route);
  }
  ferry::v1::NodeConfig config;
  for (const auto& [name, entries] : sorted) {
    for (const ferry::v1::DnatRule& rule : entries.dnat) *config.add_dnat() = rule;
    for (const ferry::v1::ReturnRoute& route : entries.returns) *config.add_return_routes() = route;
  }
  return config;
}

}  // namespace ferry::agent
