#include "node-agent/state/route_tables.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::agent {

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

  RouteState state;
  for (const auto& [via, table] : table_of) state.routes.push_back(TableRoute{table, via});
  for (const DesiredReturn& r : returns) {
    state.rules.push_back(PolicyRule{r.source, r.proto, r.port_lo, r.port_hi, table_of.at(r.via),
                                     options.rule_priority});
  }
  std::sort(state.routes.begin(), state.routes.end());
  std::sort(state.rules.begin(), state.rules.end());
  state.rules.erase(std::unique(state.rules.begin(), state.rules.end()), state.rules.end());
  return state;
}

}  // namespace ferry::agent
