#include "api/lib/config_delta.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::api {
namespace {

using ferry::v1::DnatRule;
using ferry::v1::NodeConfig;
using ferry::v1::NodeConfigDelta;
using ferry::v1::ReturnRoute;
using google::protobuf::RepeatedPtrField;

// Entry indices ordered by forward name (stable), so equal forwards line up
// whatever order a config holds them in. The planner sorts its configs, so
// this is a check, not a sort, on the hot path.
template <typename Entry>
std::vector<int> ByForward(const RepeatedPtrField<Entry>& entries) {
  std::vector<int> order(entries.size());
  for (int i = 0; i < entries.size(); ++i) order[i] = i;
  auto less = [&](int a, int b) { return entries.Get(a).forward() < entries.Get(b).forward(); };
  if (!std::is_sorted(order.begin(), order.end(), less)) {
    std::stable_sort(order.begin(), order.end(), less);
  }
  return order;
}

// Positions [begin, end) in `order` of one forward's entries.
struct Span {
  int begin = 0;
  int end = 0;
};

template <typename Entry>
Span SpanAt(const RepeatedPtrField<Entry>& entries, const std::vector<int>& order, int begin) {
  Span s{begin, begin};
  while (s.end < static_cast<int>(order.size()) &&
         entries.Get(order[s.end]).forward() == entries.Get(order[begin]).forward()) {
    ++s.end;
  }
  return s;
}

// Adds to `changed` every forward whose entries of one kind differ: a merge
// of both configs' forwards in name order.
template <typename Entry>
void ChangedForwards(const RepeatedPtrField<Entry>& base, const RepeatedPtrField<Entry>& target,
                     absl::flat_hash_set<std::string>* changed) {
  const std::vector<int> bo = ByForward(base);
  const std::vector<int> to = ByForward(target);
  int bi = 0, ti = 0;
  while (bi < static_cast<int>(bo.size()) || ti < static_cast<int>(to.size())) {
    const std::string* bname =
        bi < static_cast<int>(bo.size()) ? &base.Get(bo[bi]).forward() : nullptr;
    const std::string* tname =
        ti < static_cast<int>(to.size()) ? &target.Get(to[ti]).forward() : nullptr;
    if (tname == nullptr || (bname != nullptr && *bname < *tname)) {
      changed->insert(*bname);  // gone from target
      bi = SpanAt(base, bo, bi).end;
    } else if (bname == nullptr || *tname < *bname) {
      changed->insert(*tname);  // new in target
      ti = SpanAt(target, to, ti).end;
    } else {
      const Span bs = SpanAt(base, bo, bi);
      const Span ts = SpanAt(target, to, ti);
      bool same = bs.end - bs.begin == ts.end - ts.begin;
      for (int i = 0; same && i < bs.end - bs.begin; ++i) {
        same = SameEntry(base.Get(bo[bs.begin + i]), target.Get(to[ts.begin + i]));
      }
      if (!same) changed->insert(*tname);
      bi = bs.end;
      ti = ts.end;
    }
  }
}

template <typename Entry>
absl::Status GroupNamed(const RepeatedPtrField<Entry>& entries, absl::string_view field,
                        ForwardUpdates* out,
                        std::vector<std::pair<int, const Entry*>> ForwardUpdate::*member) {
  for (int i = 0; i < entries.size(); ++i) {
    auto it = out->find(entries.Get(i).forward());
    if (it == out->end()) {
      return absl::InvalidArgumentError(absl::StrCat(field, "[", i, "].forward: \"",
                                                     entries.Get(i).forward(),
                                                     "\" is not named in the delta's forwards"));
    }
    (it->second.*member).emplace_back(i, &entries.Get(i));
  }
  return absl::OkStatus();
}

// True if `update` carries exactly `had`'s entries.
bool SameEntries(const ForwardEntries& had, const ForwardUpdate& update) {
  if (had.dnat.size() != update.dnat.size() || had.returns.size() != update.returns.size()) {
    return false;
  }
  for (size_t i = 0; i < update.dnat.size(); ++i) {
    if (!SameEntry(had.dnat[i], *update.dnat[i].second)) return false;
  }
  for (size_t i = 0; i < update.returns.size(); ++i) {
    if (!SameEntry(had.returns[i], *update.returns[i].second)) return false;
  }
  return true;
}

}  // namespace

bool SameEntry(const DnatRule& a, const DnatRule& b) {
  // Lists every field; forward_updates_test checks the count, so a new field
  // cannot be forgotten here.
  return a.forward() == b.forward() && a.generation() == b.generation() &&
         a.frontend_address() == b.frontend_address() && a.protocol() == b.protocol() &&
         a.port() == b.port() && a.end_port() == b.end_port() &&
         a.backend_address() == b.backend_address() && a.target_port() == b.target_port() &&
         a.masquerade() == b.masquerade() && a.alert_only() == b.alert_only() &&
         a.route_query() == b.route_query() &&
         a.probe_period_seconds() == b.probe_period_seconds() &&
         a.probe_timeout_seconds() == b.probe_timeout_seconds();
}

bool SameEntry(const ReturnRoute& a, const ReturnRoute& b) {
  return a.forward() == b.forward() && a.generation() == b.generation() &&
         a.source_address() == b.source_address() && a.protocol() == b.protocol() &&
         a.port() == b.port() && a.end_port() == b.end_port() && a.via() == b.via() &&
         a.alert_only() == b.alert_only() && a.in_interface() == b.in_interface();
}

ForwardMap IndexByForward(const NodeConfig& config) {
  ForwardMap index;
  index.reserve(config.dnat_size());
  for (const DnatRule& rule : config.dnat()) index[rule.forward()].dnat.push_back(rule);
  for (const ReturnRoute& route : config.return_routes()) {
    index[route.forward()].returns.push_back(route);
  }
  return index;
}

absl::StatusOr<ForwardUpdates> UpdatesOfDelta(const NodeConfigDelta& delta) {
  ForwardUpdates out;
  for (const std::string& name : delta.forwards()) out[name];
  absl::Status status = GroupNamed(delta.dnat(), "dnat", &out, &ForwardUpdate::dnat);
  if (status.ok()) {
    status = GroupNamed(delta.return_routes(), "return_routes", &out, &ForwardUpdate::returns);
  }
  if (!status.ok()) return status;
  return out;
}

ForwardUpdates UpdatesBetween(const ForwardMap& applied, const NodeConfig& target) {
  absl::flat_hash_map<absl::string_view, ForwardUpdate> groups;
  groups.reserve(applied.size());
  for (int i = 0; i < target.dnat_size(); ++i) {
    groups[target.dnat(i).forward()].dnat.emplace_back(i, &target.dnat(i));
  }
  for (int i = 0; i < target.return_routes_size(); ++i) {
    groups[target.return_routes(i).forward()].returns.emplace_back(i, &target.return_routes(i));
  }
  ForwardUpdates out;
  for (auto& [name, update] : groups) {
    auto it = applied.find(name);
    if (it == applied.end() || !SameEntries(it->second, update)) {
      out.emplace(std::string(name), std::move(update));
    }
  }
  for (const auto& [name, entries] : applied) {
    if (!groups.contains(name)) out[name];
  }
  return out;
}

void ApplyUpdates(const ForwardUpdates& updates, ForwardMap* applied) {
  for (const auto& [name, update] : updates) {
    if (update.removes()) {
      applied->erase(name);
      continue;
    }
    ForwardEntries& entries = (*applied)[name];
    entries.dnat.clear();
    entries.returns.clear();
    for (const auto& [index, rule] : update.dnat) entries.dnat.push_back(*rule);
    for (const auto& [index, route] : update.returns) entries.returns.push_back(*route);
  }
}

NodeConfigDelta ComputeDelta(const NodeConfig& base, const NodeConfig& target) {
  absl::flat_hash_set<std::string> changed;
  ChangedForwards(base.dnat(), target.dnat(), &changed);
  ChangedForwards(base.return_routes(), target.return_routes(), &changed);

  NodeConfigDelta delta;
  delta.set_version(target.version());
  delta.set_base_version(base.version());
  delta.set_ipv4_forwarding(target.ipv4_forwarding());
  delta.set_ipv6_forwarding(target.ipv6_forwarding());
  std::vector<std::string> names(changed.begin(), changed.end());
  std::sort(names.begin(), names.end());
  for (std::string& name : names) delta.add_forwards(std::move(name));
  for (const DnatRule& r : target.dnat()) {
    if (changed.contains(r.forward())) *delta.add_dnat() = r;
  }
  for (const ReturnRoute& r : target.return_routes()) {
    if (changed.contains(r.forward())) *delta.add_return_routes() = r;
  }
  return delta;
}

}  // namespace ferry::api
