#ifndef FERRY_CONTROLLER_DASHBOARD_DASHBOARD_JSON_H_
#define FERRY_CONTROLLER_DASHBOARD_DASHBOARD_JSON_H_

// The dashboard's data: the controller's in-memory view (the store's
// objects, the fleet's forward statuses) as small JSON documents made for
// display, not the API's full objects. Every list is bounded, so a large
// fleet costs a page of rows, not the whole store each second.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/fleet/forward_statuses.h"
#include "controller/store/store.h"

namespace ferry::controller::dashboard {

struct ViewLimits {
  size_t forwards = 1000;  // in name order; the rest are counted as truncated
  size_t nodes = 1000;
  size_t events = 100;  // the most recent, by last timestamp
};

// {"items":[{name, frontend, backend, ports, sourceIP, driftPolicy,
// generation, conditions:[{type,status,reason,message}], nodes:[...]}],
// "truncated":bool}. `statuses` may be null (objects as stored).
absl::StatusOr<std::string> ForwardsJson(Store* store, const ForwardStatuses* statuses,
                                         const ViewLimits& limits);
// {"items":[{name, connected, inSync, inSyncReason, inSyncMessage,
// agentVersion, addresses:[...], labels, lastSeen}], "truncated":bool}
absl::StatusOr<std::string> NodesJson(Store* store, const ViewLimits& limits);
// {"items":[{time, type, reason, object, node, message, count}]}, newest first.
absl::StatusOr<std::string> EventsJson(Store* store, const ViewLimits& limits);
// {"revision":N,"forwards":...,"nodes":...,"events":...}: the three above.
absl::StatusOr<std::string> SnapshotJson(Store* store, const ForwardStatuses* statuses,
                                         const ViewLimits& limits);

}  // namespace ferry::controller::dashboard

#endif  // FERRY_CONTROLLER_DASHBOARD_DASHBOARD_JSON_H_
