#include "node-agent/state/route_tables.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::agent {

absl::StatusOr<std::map<std::string, uint32_t>> AssignReturnMarks(
    const std::vector<DesiredReturn>& returns, const std::map<std::string, uint32_t>& committed) {
  std::set<std::string> interfaces;
  for (const DesiredReturn& r : returns) {
    if (!r.interface.empty()) interfaces.insert(r.interface);
  }
  std::map<std::string, uint32_t> marks;
  std::set<uint32_t> used;
  for (const auto& [interface, mark] : committed) {
    const uint32_t index = mark >> kReturnMarkShift;
    // Index kMaxReturnMarks + 1 is the probe's (kProbeMark), never a return
    // mark, though an older build may have left it.
    if (!interfaces.contains(interface) || (mark & ~kReturnMarkMask) != 0 || index == 0 ||
        index > kMaxReturnMarks || used.contains(index)) {
      continue;
    }
    marks[interface] = mark;
    used.insert(index);
  }
  uint32_t next = 1;
  for (const std::string& interface : interfaces) {
    if (marks.contains(interface)) continue;
    while (next <= kMaxReturnMarks && used.contains(next)) ++next;
    if (next > kMaxReturnMarks) {
      return absl::ResourceExhaustedError(absl::StrCat("return paths arrive on ", interfaces.size(),
                                                       " interfaces, but only ", kMaxReturnMarks,
                                                       " marks fit in mask 0xff000000"));
    }
    marks[interface] = ReturnMark(next);
    used.insert(next);
  }
  return marks;
}

absl::StatusOr<RouteState> BuildRouteState(const std::vector<DesiredReturn>& returns,
                                           const RouteState& committed,
                                           const RouteTableOptions& options) {
  if (options.table_count == 0 || options.table_base > UINT32_MAX - options.table_count) {
    return absl::InvalidArgumentError(absl::StrCat("table range ", options.table_base, " + ",
                                                   options.table_count, " is empty or overflows"));
  }
  const uint32_t end = options.table_base + options.table_count;

  std::set<IpAddress> vias;
  for (const DesiredReturn& r : returns) vias.insert(r.via);

  // Keep what the kernel already has for vias that are still wanted.
  std::map<IpAddress, uint32_t> table_of;
  std::set<uint32_t> used;
  for (const TableRoute& route : committed.routes) {
    if (!InTableRange(route.table, options) || !vias.contains(route.via)) continue;
    if (table_of.contains(route.via) || used.contains(route.table)) continue;
    table_of[route.via] = route.table;
    used.insert(route.table);
  }
  uint32_t next = options.table_base;
  for (const IpAddress& via : vias) {
    if (table_of.contains(via)) continue;
    while (next < end && used.contains(next)) ++next;
    if (next == end) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "return routes need ", vias.size(), " routing tables (one per via) but only ",
          options.table_count, " are configured (", options.table_base, "..", end - 1,
          "); raise --table-count"));
    }
    table_of[via] = next;
    used.insert(next);
  }

  absl::StatusOr<std::map<std::string, uint32_t>> assigned =
      AssignReturnMarks(returns, committed.marks);
  if (!assigned.ok()) return assigned.status();
  RouteState state;
  state.marks = *std::move(assigned);
  const std::map<std::string, uint32_t>& marks = state.marks;
  for (const auto& [via, table] : table_of) state.routes.push_back(TableRoute{table, via});
  // A rule's selector, to find two forwards that route the same replies.
  using Selector = std::tuple<IpAddress, uint8_t, uint16_t, uint16_t, uint32_t>;
  std::map<Selector, const DesiredReturn*> by_selector;
  for (const DesiredReturn& r : returns) {
    PolicyRule rule{
        r.source, r.proto, r.port_lo, r.port_hi, table_of.at(r.via), options.rule_priority};
    if (!r.interface.empty()) {
      auto mark = marks.find(r.interface);
      if (mark == marks.end()) {
        return absl::InternalError(absl::StrCat("no mark was assigned to interface ", r.interface));
      }
      rule.fwmark = mark->second;
      rule.fwmask = kReturnMarkMask;
    }
    auto [it, inserted] = by_selector.try_emplace(
        Selector{rule.src, rule.proto, rule.sport_lo, rule.sport_hi, rule.fwmark}, &r);
    if (!inserted && it->second->via != r.via) {
      return absl::InvalidArgumentError(absl::StrCat(
          "forwards \"", it->second->forward, "\" and \"", r.forward,
          "\" both return replies from ", r.source.ToString(), " port ", r.port_lo,
          " that arrive on interface \"", r.interface, "\", via ", it->second->via.ToString(),
          " and via ", r.via.ToString(), ": no rule can tell them apart"));
    }
    state.rules.push_back(rule);
  }
  std::sort(state.routes.begin(), state.routes.end());
  std::sort(state.rules.begin(), state.rules.end());
  state.rules.erase(std::unique(state.rules.begin(), state.rules.end()), state.rules.end());
  return state;
}

}  // namespace ferry::agent
