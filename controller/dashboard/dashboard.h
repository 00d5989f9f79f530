#ifndef FERRY_CONTROLLER_DASHBOARD_DASHBOARD_H_
#define FERRY_CONTROLLER_DASHBOARD_DASHBOARD_H_

// The controller's read-only web dashboard, on the --metrics-listen server:
//   /                  the page (HTML with inline CSS)
//   /dashboard.js      its script (vanilla JS, no build step)
//   /api/v1/forwards   forwards with their status   (dashboard_json.h)
//   /api/v1/nodes      nodes
//   /api/v1/events     the most recent events
//   /api/v1/snapshot   all three, each at the revision it names or later
//   /api/v1/stream     Server-Sent Events: a "snapshot" event now and after
//                      every store change (checked four times a second)
// GET only (the server answers anything else 405). It shows what a viewer
// may read through the API, to whoever reaches the listener: keep
// --metrics-listen on loopback or a management network (docs).

#include "absl/time/time.h"
#include "api/observability/http_server.h"
#include "controller/dashboard/dashboard_json.h"
#include "controller/fleet/forward_statuses.h"
#include "controller/store/store.h"

namespace ferry::controller::dashboard {

struct DashboardOptions {
  ViewLimits limits;
  absl::Duration poll = absl::Milliseconds(250);  // store revision checks
  absl::Duration keepalive = absl::Seconds(15);   // comment line when idle
};

// Registers the routes above. `store` and `statuses` (may be null) must
// outlive the server.
void RegisterDashboard(observability::HttpServer* server, Store* store,
                       const ForwardStatuses* statuses, DashboardOptions options = {});

// The page and the script, served from memory (dashboard_page.cc).
extern const char kDashboardHtml[];
extern const char kDashboardJs[];

}  // namespace ferry::controller::dashboard

#endif  // FERRY_CONTROLLER_DASHBOARD_DASHBOARD_H_
