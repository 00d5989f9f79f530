#ifndef FERRY_NODE_AGENT_STATE_ROUTE_TABLES_H_
#define FERRY_NODE_AGENT_STATE_ROUTE_TABLES_H_

// Turns desired return paths into policy rules and per-hop routing tables.
// Replies must leave through the frontend that received the connection, so
// each distinct `via` gets its own table whose default route points at it.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node-agent/state/desired_state.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

struct RouteTableOptions {
  uint32_t table_base = 7100;  // first table id Ferry may use
  uint32_t table_count = 100;  // ids [table_base, table_base + table_count)
  uint32_t rule_priority = 10000;
};

// True if `table` is one of Ferry's: [table_base, table_base + table_count).
// With the protocol tag (kFerryRouteProtocol), this is how a route or rule
// is recognised as Ferry's; either alone is not enough.
inline bool InTableRange(uint32_t table, const RouteTableOptions& options) {
  return table >= options.table_base && table - options.table_base < options.table_count;
}

// The mark of each interface that returns arrive on (see kReturnMarkMask),
// assigned stably like tables: an interface keeps the mark it has in
// `committed`, a new one gets the lowest free index. Fails with
// RESOURCE_EXHAUSTED beyond kMaxReturnMarks interfaces.
absl::StatusOr<std::map<std::string, uint32_t>> AssignReturnMarks(
    const std::vector<DesiredReturn>& returns, const std::map<std::string, uint32_t>& committed);

// Assigns tables stably: a via keeps the table it has in `committed` (so an
// unrelated change never renumbers tables and churns rules); a new via gets
// the lowest id in range not used by another desired via. A return with an
// interface gets a rule that also matches that interface's mark, assigned
// by AssignReturnMarks from the committed ones (state.marks). Fails with RESOURCE_EXHAUSTED when
// there are more vias than tables, and with INVALID_ARGUMENT when two forwards send the same
// replies (source, protocol, port and interface) via different hops: no rule could tell them apart.
absl::StatusOr<RouteState> BuildRouteState(const std::vector<DesiredReturn>& returns,
                                           const RouteState& committed,
                                           const RouteTableOptions& options);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_STATE_ROUTE_TABLES_H_
