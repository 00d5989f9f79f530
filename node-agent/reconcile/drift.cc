#include "node-agent/reconcile/drift.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "api/lib/protocol.h"

namespace ferry::agent {
namespace {

constexpr char kTableObject[] = "table inet ferry";
constexpr char kMarkTableObject[] = "table inet ferry_return";

std::string Family(const IpAddress& a) { return a.is_v4() ? "4" : "6"; }

std::string DnatObject(const DnatKey& k) {
  return absl::StrCat("map dnat", Family(k.daddr), " element ", k.daddr.ToString(), " . ",
                      ferry::api::IpProtocolName(k.proto), " . ", k.port);
}

std::string MasqObject(const MasqKey& k) {
  return absl::StrCat("set masq", Family(k.daddr), " element ", k.daddr.ToString(), " . ",
                      ferry::api::IpProtocolName(k.proto), " . ", k.port);
}

std::string PortText(uint16_t lo, uint16_t hi) {
  return lo == hi ? absl::StrCat(lo) : absl::StrCat(lo, "-", hi);
}

std::string RuleSelector(const PolicyRule& r) {
  std::string text =
      absl::StrCat("from ", r.src.ToString(), " ipproto ", ferry::api::IpProtocolName(r.proto),
                   " sport ", PortText(r.sport_lo, r.sport_hi));
  if (r.fwmask != 0) absl::StrAppend(&text, absl::StrFormat(" fwmark %#x/%#x", r.fwmark, r.fwmask));
  return text;
}

std::string MarkText(uint32_t mark) { return absl::StrFormat("%#x", mark); }

std::string RuleText(const PolicyRule& r) {
  return absl::StrCat(RuleSelector(r), " lookup ", r.table, " pref ", r.priority);
}

std::string RouteText(const TableRoute& r) {
  return absl::StrCat("default via ", r.via.ToString(), " table ", r.table);
}

// Who owns what, and which owners are Alert. Reads `desired` first, then
// `previous` (a forward being deleted), then the kernel's own comment.
class Owners {
 public:
  Owners(const Intent& desired, const Intent& previous) : desired_(desired), previous_(previous) {}

  template <typename K, typename V>
  std::string OfElement(const K& key, const std::map<K, V>& desired, const std::map<K, V>& previous,
                        const std::map<K, V>& kernel) const {
    for (const auto* m : {&desired, &previous, &kernel}) {
      auto it = m->find(key);
      if (it != m->end()) return ForwardOfComment(CommentOf(it->second));
    }
    return "";
  }

  // Forwards whose return paths match the rule's selector (its mark
  // included: the interface that has it).
  std::set<std::string> OfRule(const PolicyRule& r) const {
    std::set<std::string> out;
    for (const Intent* intent : {&desired_, &previous_}) {
      for (const DesiredReturn& ret : intent->returns) {
        if (ret.source == r.src && ret.proto == r.proto && ret.port_lo == r.sport_lo &&
            ret.port_hi == r.sport_hi && MarkOf(*intent, ret.interface) == r.fwmark) {
          out.insert(ret.forward);
        }
      }
    }
    return out;
  }

  // Forwards whose requests arrive on `interface`.
  std::set<std::string> OfInterface(const std::string& interface) const {
    std::set<std::string> out;
    for (const Intent* intent : {&desired_, &previous_}) {
      for (const DesiredReturn& ret : intent->returns) {
        if (ret.interface == interface) out.insert(ret.forward);
      }
    }
    return out;
  }

  // Forwards returning via the hop that `table` routes to.
  std::set<std::string> OfTable(uint32_t table) const {
    std::set<std::string> out;
    for (const Intent* intent : {&desired_, &previous_}) {
      for (const TableRoute& route : intent->routes.routes) {
        if (route.table != table) continue;
        for (const DesiredReturn& ret : intent->returns) {
          if (ret.via == route.via) out.insert(ret.forward);
        }
      }
    }
    return out;
  }

  bool Alert(const std::string& forward) const {
    return !forward.empty() && desired_.alert_forwards.contains(forward);
  }
  bool AllAlert(const std::set<std::string>& forwards) const {
    return !forwards.empty() && std::all_of(forwards.begin(), forwards.end(),
                                            [this](const std::string& f) { return Alert(f); });
  }

 private:
  static uint32_t MarkOf(const Intent& intent, const std::string& interface) {
    if (interface.empty()) return 0;
    auto it = intent.routes.marks.find(interface);
    return it == intent.routes.marks.end() ? 0 : it->second;
  }
  static const std::string& CommentOf(const DnatTarget& t) { return t.comment; }
  static const std::string& CommentOf(const std::string& comment) { return comment; }

  const Intent& desired_;
  const Intent& previous_;
};

template <typename K, typename V>
std::set<K> KeyUnion(const std::map<K, V>& a, const std::map<K, V>& b, const std::map<K, V>& c) {
  std::set<K> out;
  for (const auto* m : {&a, &b, &c}) {
    for (const auto& [key, value] : *m) out.insert(key);
  }
  return out;
}

template <typename K, typename V>
bool SameEntry(const std::map<K, V>& a, const std::map<K, V>& b, const K& key) {
  auto ia = a.find(key);
  auto ib = b.find(key);
  if (ia == a.end() || ib == b.end()) return (ia == a.end()) == (ib == b.end());
  return ia->second == ib->second;
}

template <typename K, typename V>
void TargetMap(const Owners& owners, const std::map<K, V>& desired, const std::map<K, V>& previous,
               const std::map<K, V>& kernel, std::map<K, V>& out) {
  for (const K& key : KeyUnion(desired, previous, kernel)) {
    const bool keep_kernel = owners.Alert(owners.OfElement(key, desired, previous, kernel)) &&
                             SameEntry(desired, previous, key);
    const std::map<K, V>& source = keep_kernel ? kernel : desired;
    auto it = source.find(key);
    if (it != source.end()) out.emplace(key, it->second);
  }
}

std::string Rendered(const DnatTarget& t, const DnatTarget* other) {
  std::string text = absl::StrCat(t.addr.ToString(), " . ", t.port);
  if (other != nullptr && other->comment != t.comment) {
    absl::StrAppend(&text, " comment \"", t.comment, "\"");
  }
  return text;
}

std::string Rendered(const std::string& comment, const std::string*) {
  return absl::StrCat("comment \"", comment, "\"");
}

template <typename K, typename V, typename Name>
void ElementDrift(const Owners& owners, const std::map<K, V>& committed,
                  const std::map<K, V>& observed, Name name, std::vector<Drift>& out) {
  for (const K& key : KeyUnion(committed, observed, observed)) {
    auto c = committed.find(key);
    auto o = observed.find(key);
    const V* cv = c == committed.end() ? nullptr : &c->second;
    const V* ov = o == observed.end() ? nullptr : &o->second;
    if (cv != nullptr && ov != nullptr && *cv == *ov) continue;
    Drift d;
    d.forward = owners.OfElement(key, committed, committed, observed);
    d.object = name(key);
    d.kind = "nftables";
    if (cv != nullptr) d.expected = Rendered(*cv, ov);
    if (ov != nullptr) d.found = Rendered(*ov, cv);
    d.repair = !owners.Alert(d.forward);
    out.push_back(std::move(d));
  }
}

std::string JoinOwners(const std::set<std::string>& owners) { return absl::StrJoin(owners, ","); }

void TableMissingDrift(const Intent& committed, const Owners& owners, bool repair_table,
                       std::vector<Drift>& out) {
  out.push_back(Drift{"", kTableObject, "nftables", "present", "", repair_table});
  std::map<std::string, size_t> elements;
  for (const auto& [key, target] : committed.nat.dnat) ++elements[ForwardOfComment(target.comment)];
  for (const auto& [key, comment] : committed.nat.masq) ++elements[ForwardOfComment(comment)];
  for (const auto& [forward, count] : elements) {
    out.push_back(Drift{
        forward, absl::StrCat(kTableObject, " elements of ", ForwardComment(forward)), "nftables",
        absl::StrCat(count, " elements"), "", repair_table && !owners.Alert(forward)});
  }
}

using RuleKey = std::tuple<IpAddress, uint8_t, uint16_t, uint16_t, uint32_t, uint32_t>;
RuleKey KeyOf(const PolicyRule& r) {
  return {r.src, r.proto, r.sport_lo, r.sport_hi, r.fwmark, r.fwmask};
}

void RuleDrift(const Intent& committed, const Owners& owners, const RouteState& observed,
               std::vector<Drift>& out) {
  std::set<PolicyRule> want(committed.routes.rules.begin(), committed.routes.rules.end());
  std::set<PolicyRule> have(observed.rules.begin(), observed.rules.end());
  std::map<RuleKey, std::vector<PolicyRule>> extra;
  for (const PolicyRule& r : have) {
    if (!want.contains(r)) extra[KeyOf(r)].push_back(r);
  }
  auto item = [&](const PolicyRule& r, const PolicyRule* expected, const PolicyRule* found) {
    const std::set<std::string> forwards = owners.OfRule(r);
    out.push_back(Drift{JoinOwners(forwards),
                        absl::StrCat("rule ", RuleSelector(r), " lookup ", r.table), "rule",
                        expected ? RuleText(*expected) : "", found ? RuleText(*found) : "",
                        !owners.AllAlert(forwards)});
  };
  for (const PolicyRule& r : want) {
    if (have.contains(r)) continue;
    auto it = extra.find(KeyOf(r));
    if (it != extra.end() && !it->second.empty()) {
      // Same selector, other table or priority: one "changed" item.
      item(r, &r, &it->second.back());
      it->second.pop_back();
    } else {
      item(r, &r, nullptr);
    }
  }
  for (const auto& [key, rules] : extra) {
    for (const PolicyRule& r : rules) item(r, nullptr, &r);
  }
}

void RouteDrift(const Intent& committed, const Owners& owners, const RouteState& observed,
                std::vector<Drift>& out) {
  std::map<uint32_t, TableRoute> want, have;
  for (const TableRoute& r : committed.routes.routes) want.emplace(r.table, r);
  for (const TableRoute& r : observed.routes) have.emplace(r.table, r);
  for (uint32_t table : KeyUnion(want, have, have)) {
    auto w = want.find(table);
    auto h = have.find(table);
    if (w != want.end() && h != have.end() && w->second == h->second) continue;
    const TableRoute& named = w != want.end() ? w->second : h->second;
    const std::set<std::string> forwards = owners.OfTable(table);
    out.push_back(Drift{JoinOwners(forwards), absl::StrCat("route ", RouteText(named)), "route",
                        w != want.end() ? RouteText(w->second) : "",
                        h != have.end() ? RouteText(h->second) : "", !owners.AllAlert(forwards)});
  }
}

// Table inet ferry_return: its fixed part is node-wide, its elements belong
// to the forwards whose requests arrive on the element's interface.
void MarkDrift(const Intent& committed, const Owners& owners, const RouteState& observed,
               std::vector<Drift>& out) {
  for (const StructureDrift& d : observed.marks_drift) {
    out.push_back(Drift{"", absl::StrCat(kMarkTableObject, " ", d.object), "nftables", d.expected,
                        d.found, RepairsNodeWide(committed)});
  }
  const std::map<std::string, uint32_t>& want = committed.routes.marks;
  const std::map<std::string, uint32_t>& have = observed.marks;
  if (want == have) return;
  for (const std::string& interface : KeyUnion(want, have, have)) {
    auto w = want.find(interface);
    auto h = have.find(interface);
    if (w != want.end() && h != have.end() && w->second == h->second) continue;
    const std::set<std::string> forwards = owners.OfInterface(interface);
    out.push_back(Drift{JoinOwners(forwards),
                        absl::StrCat(kMarkTableObject, " map marks element \"", interface, "\""),
                        "nftables", w != want.end() ? MarkText(w->second) : "",
                        h != have.end() ? MarkText(h->second) : "", !owners.AllAlert(forwards)});
  }
}

}  // namespace

bool IsMarkTableObject(const std::string& object) { return object.rfind(kMarkTableObject, 0) == 0; }

bool RepairsNodeWide(const Intent& intent) {
  std::set<std::string> forwards;
  for (const auto& [key, target] : intent.nat.dnat)
    forwards.insert(ForwardOfComment(target.comment));
  for (const auto& [key, comment] : intent.nat.masq) forwards.insert(ForwardOfComment(comment));
  for (const DesiredReturn& r : intent.returns) forwards.insert(r.forward);
  if (forwards.empty()) return true;
  return std::any_of(forwards.begin(), forwards.end(),
                     [&](const std::string& f) { return !intent.alert_forwards.contains(f); });
}

std::vector<Drift> FindDrift(const Intent& committed, const Observed& observed) {
  const Owners owners(committed, committed);
  std::vector<Drift> out;
  if (committed.nat.table_present && !observed.nat.table_present) {
    TableMissingDrift(committed, owners, RepairsNodeWide(committed), out);
  } else if (committed.nat.table_present) {
    // Chains, rules and sets are node-wide: one flushed chain breaks every
    // forward, so they follow the node-wide policy.
    for (const StructureDrift& d : observed.nat.structure_drift) {
      if (std::find(committed.nat.structure_drift.begin(), committed.nat.structure_drift.end(),
                    d) != committed.nat.structure_drift.end()) {
        continue;  // adopted that way, before any config
      }
      out.push_back(
          Drift{"", d.object, "nftables", d.expected, d.found, RepairsNodeWide(committed)});
    }
    // Equal maps (the common case) compare in one linear pass, without
    // building the key union.
    if (committed.nat.dnat != observed.nat.dnat) {
      ElementDrift(owners, committed.nat.dnat, observed.nat.dnat, DnatObject, out);
    }
    if (committed.nat.masq != observed.nat.masq) {
      ElementDrift(owners, committed.nat.masq, observed.nat.masq, MasqObject, out);
    }
  }
  MarkDrift(committed, owners, observed.routes, out);
  RuleDrift(committed, owners, observed.routes, out);
  RouteDrift(committed, owners, observed.routes, out);
  for (const auto& [key, want] : committed.sysctls) {
    auto it = observed.sysctls.find(key);
    if (it == observed.sysctls.end() || it->second == want) continue;  // unreadable: not drift
    out.push_back(Drift{"", absl::StrCat("sysctl ", key), "sysctl", want, it->second,
                        RepairsNodeWide(committed)});
  }
  return out;
}

NatState NatTarget(const Intent& desired, const Intent& previous, const NatState& kernel) {
  NatState target;
  // A table Ferry never created is created; one that vanished is put back
  // only under the node-wide policy.
  target.table_present =
      desired.nat.table_present &&
      (kernel.table_present || !previous.nat.table_present || RepairsNodeWide(desired));
  if (!target.table_present) return target;
  // The structure, like the table, is put back only under the node-wide
  // policy; otherwise the kernel's stays as found.
  if (kernel.table_present && !RepairsNodeWide(desired)) {
    target.structure_drift = kernel.structure_drift;
  }
  const Owners owners(desired, previous);
  TargetMap(owners, desired.nat.dnat, previous.nat.dnat, kernel.dnat, target.dnat);
  TargetMap(owners, desired.nat.masq, previous.nat.masq, kernel.masq, target.masq);
  return target;
}

RouteState RouteTarget(const Intent& desired, const Intent& previous, const RouteState& kernel) {
  const Owners owners(desired, previous);
  RouteState target;
  std::set<PolicyRule> want(desired.routes.rules.begin(), desired.routes.rules.end());
  std::set<PolicyRule> before(previous.routes.rules.begin(), previous.routes.rules.end());
  std::set<PolicyRule> have(kernel.rules.begin(), kernel.rules.end());
  std::set<PolicyRule> all = want;
  all.insert(before.begin(), before.end());
  all.insert(have.begin(), have.end());
  for (const PolicyRule& r : all) {
    const bool keep_kernel =
        owners.AllAlert(owners.OfRule(r)) && want.contains(r) == before.contains(r);
    if (keep_kernel ? have.contains(r) : want.contains(r)) target.rules.push_back(r);
  }
  std::map<uint32_t, TableRoute> want_routes, before_routes, have_routes;
  for (const TableRoute& r : desired.routes.routes) want_routes.emplace(r.table, r);
  for (const TableRoute& r : previous.routes.routes) before_routes.emplace(r.table, r);
  for (const TableRoute& r : kernel.routes) have_routes.emplace(r.table, r);
  for (uint32_t table : KeyUnion(want_routes, before_routes, have_routes)) {
    const bool keep_kernel =
        owners.AllAlert(owners.OfTable(table)) && SameEntry(want_routes, before_routes, table);
    const auto& source = keep_kernel ? have_routes : want_routes;
    auto it = source.find(table);
    if (it != source.end()) target.routes.push_back(it->second);
  }
  const auto& [want_marks, before_marks, have_marks] =
      std::tie(desired.routes.marks, previous.routes.marks, kernel.marks);
  for (const std::string& interface : KeyUnion(want_marks, before_marks, have_marks)) {
    const bool keep_kernel = owners.AllAlert(owners.OfInterface(interface)) &&
                             SameEntry(want_marks, before_marks, interface);
    const auto& source = keep_kernel ? have_marks : want_marks;
    auto it = source.find(interface);
    if (it != source.end()) target.marks.insert(*it);
  }
  if (!RepairsNodeWide(desired)) target.marks_drift = kernel.marks_drift;
  return target;  // both built in sorted order
}

std::vector<std::pair<std::string, std::string>> SysctlRepairs(const Intent& committed,
                                                               const std::vector<Drift>& drift) {
  std::vector<std::pair<std::string, std::string>> writes;
  for (const Drift& d : drift) {
    if (d.kind != "sysctl" || !d.repair) continue;
    const std::string key = d.object.substr(sizeof("sysctl ") - 1);
    auto it = committed.sysctls.find(key);
    if (it != committed.sysctls.end()) writes.emplace_back(key, it->second);
  }
  return writes;
}

std::vector<Drift> CapDrift(std::vector<Drift> drift, size_t max) {
  if (max == 0 || drift.size() <= max) return drift;
  const size_t rest = drift.size() - (max - 1);
  size_t repaired = 0;
  for (size_t i = max - 1; i < drift.size(); ++i) repaired += drift[i].repair ? 1 : 0;
  drift.resize(max - 1);
  drift.push_back(Drift{"", absl::StrCat("and ", rest, " more objects (", repaired, " repaired)"),
                        "summary", "", "", repaired == rest});
  return drift;
}

}  // namespace ferry::agent
