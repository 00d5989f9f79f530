#include "node-agent/kernel/plan_lines.h"

#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node-agent/kernel/nft_messages.h"
#include "node-agent/kernel/nft_return_marks.h"
#include "node-agent/kernel/rtnl_messages.h"

namespace ferry::agent {
namespace {

constexpr char kNatTable[] = "table inet ferry";
constexpr char kMarkTable[] = "table inet ferry_return";

std::string Commented(std::string text, const std::string& comment) {
  if (!comment.empty()) absl::StrAppend(&text, " comment \"", comment, "\"");
  return text;
}

std::string DnatLine(const DnatKey& key, const DnatTarget& target) {
  const nft::NatSet set = key.daddr.is_v4() ? nft::NatSet::kDnat4 : nft::NatSet::kDnat6;
  return Commented(
      absl::StrCat(nft::SetNoun(set), " element ", nft::DescribeKey(key.daddr, key.proto, key.port),
                   " : ", target.addr.ToString(), " . ", target.port),
      target.comment);
}

std::string MasqLine(const MasqKey& key, const std::string& comment) {
  const nft::NatSet set = key.daddr.is_v4() ? nft::NatSet::kMasq4 : nft::NatSet::kMasq6;
  return Commented(absl::StrCat(nft::SetNoun(set), " element ",
                                nft::DescribeKey(key.daddr, key.proto, key.port)),
                   comment);
}

// Every key of either map in order, among those `keep` selects: "-" the
// old entry, "+" the new, both when the value changed.
template <typename K, typename V, typename Keep, typename Render>
void MapLines(const std::map<K, V>& before, const std::map<K, V>& after, Keep keep, Render render,
              std::vector<std::string>& out) {
  auto b = before.begin();
  auto a = after.begin();
  while (b != before.end() || a != after.end()) {
    const bool take_b = a == after.end() || (b != before.end() && b->first <= a->first);
    const bool take_a = b == before.end() || (a != after.end() && a->first <= b->first);
    const K& key = take_b ? b->first : a->first;
    if (keep(key)) {
      const bool changed = !(take_b && take_a && b->second == a->second);
      if (take_b && changed) out.push_back(absl::StrCat("- ", render(key, b->second)));
      if (take_a && changed) out.push_back(absl::StrCat("+ ", render(key, a->second)));
    }
    if (take_b) ++b;
    if (take_a) ++a;
  }
}

std::string Rebuilt(absl::string_view table, const std::vector<StructureDrift>& drift) {
  std::set<std::string> objects;
  for (const StructureDrift& d : drift) objects.insert(d.object);
  return absl::StrCat("+ ", table, " rebuilt whole, in one batch (not as Ferry makes it: ",
                      absl::StrJoin(objects, ", "), ")");
}

void NatLines(const NatState& before, const NatState& after, std::vector<std::string>& out) {
  if (after.table_present && !before.table_present) {
    out.push_back(absl::StrCat("+ ", kNatTable));
  } else if (after.table_present && before.structure_drift != after.structure_drift) {
    out.push_back(Rebuilt(kNatTable, before.structure_drift));
  }
  for (const bool v4 : {true, false}) {
    MapLines(
        before.dnat, after.dnat, [v4](const DnatKey& k) { return k.daddr.is_v4() == v4; }, DnatLine,
        out);
  }
  for (const bool v4 : {true, false}) {
    MapLines(
        before.masq, after.masq, [v4](const MasqKey& k) { return k.daddr.is_v4() == v4; }, MasqLine,
        out);
  }
}

// Table inet ferry_return exists while it holds marks (an empty map
// deletes it), or while its structure is found drifted.
void MarkLines(const RouteState& before, const RouteState& after, std::vector<std::string>& out) {
  const bool was = !before.marks.empty() || !before.marks_drift.empty();
  const bool will = !after.marks.empty() || !after.marks_drift.empty();
  if (will && !was) {
    out.push_back(absl::StrCat("+ ", kMarkTable));
  } else if (will && before.marks_drift != after.marks_drift) {
    out.push_back(Rebuilt(kMarkTable, before.marks_drift));
  }
  MapLines(
      before.marks, after.marks, [](const std::string&) { return true; },
      [](const std::string& interface, uint32_t mark) {
        return absl::StrCat(kMarkTable, " map marks element ", nft::DescribeMark(interface, mark));
      },
      out);
  if (was && !will) out.push_back(absl::StrCat("- ", kMarkTable));
}

void RuleLines(const RouteState& before, const RouteState& after, std::vector<std::string>& out) {
  const std::set<PolicyRule> had(before.rules.begin(), before.rules.end());
  const std::set<PolicyRule> will(after.rules.begin(), after.rules.end());
  std::set<PolicyRule> all = had;
  all.insert(will.begin(), will.end());
  for (const PolicyRule& rule : all) {
    if (had.contains(rule) == will.contains(rule)) continue;
    out.push_back(
        absl::StrCat(will.contains(rule) ? "+ " : "- ", "rule ", rtnl::DescribeRule(rule)));
  }
}

void RouteLines(const RouteState& before, const RouteState& after, std::vector<std::string>& out) {
  std::map<uint32_t, TableRoute> had, will;
  for (const TableRoute& r : before.routes) had.emplace(r.table, r);
  for (const TableRoute& r : after.routes) will.emplace(r.table, r);
  MapLines(
      had, will, [](uint32_t) { return true; },
      [](uint32_t, const TableRoute& r) { return absl::StrCat("route ", rtnl::DescribeRoute(r)); },
      out);
}

}  // namespace

std::vector<std::string> PlanLines(const KernelChanges& changes, size_t max_lines) {
  std::vector<std::string> out;
  NatLines(changes.nat_before, changes.nat_after, out);
  MarkLines(changes.routes_before, changes.routes_after, out);
  RuleLines(changes.routes_before, changes.routes_after, out);
  RouteLines(changes.routes_before, changes.routes_after, out);
  for (const SysctlChange& s : changes.sysctls) {
    if (!s.from.empty()) out.push_back(absl::StrCat("- sysctl ", s.key, " = ", s.from));
    out.push_back(absl::StrCat("+ sysctl ", s.key, " = ", s.to));
  }
  if (out.size() > max_lines) {
    const size_t more = out.size() - max_lines;
    out.resize(max_lines);
    out.push_back(absl::StrCat("... ", more, " more lines not shown"));
  }
  return out;
}

}  // namespace ferry::agent
