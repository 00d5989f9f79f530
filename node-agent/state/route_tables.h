#ifndef FERRY_NODE_AGENT_STATE_ROUTE_TABLES_H_
#define FERRY_NODE_AGENT_STATE_ROUTE_TABLES_H_

// Turns desired return paths into policy rules and per-hop routing tables.
// Replies must leave through the frontend that received the connection, so
// each distinct `via` gets its own table whose default route points at it.

#include <cstdint>
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

// Assigns tables stably: a via keeps the table it has in `committed` (so an
// unrelated change never renumbers tables and churns rules); a new via gets
// the lowest id in range not used by another desired via. Fails with
// RESOURCE_EXHAUSTED when there are more vias than tables.
absl::StatusOr<RouteState> BuildRouteState(const std::vector<DesiredReturn>& returns,
                                           const RouteState& committed,
                                           const RouteTableOptions& options);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_STATE_ROUTE_TABLES_H_
