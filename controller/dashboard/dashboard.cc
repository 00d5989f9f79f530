#include "controller/dashboard/dashboard.h"

#include <functional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/lib/log.h"

namespace ferry::controller::dashboard {
namespace {

using observability::HttpRequest;
using observability::HttpResponse;
using observability::ResponseStream;

// The page loads its script and data from itself only, and may not be framed.
constexpr char kPagePolicy[] =
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

HttpResponse Asset(std::string content_type, std::string body) {
  HttpResponse response;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  response.headers = {{"Cache-Control", "no-cache"},
                      {"X-Content-Type-Options", "nosniff"},
                      {"Referrer-Policy", "no-referrer"},
                      {"Content-Security-Policy", kPagePolicy}};
  return response;
}

HttpResponse Json(const absl::StatusOr<std::string>& json) {
  HttpResponse response;
  if (!json.ok()) {
    LogWarning("dashboard: cannot read the store", {{"error", json.status().ToString()}});
    response.status = 503;
    response.body = "cannot read the store; see the controller's log\n";
    return response;
  }
  response.content_type = "application/json";
  response.body = *json;
  response.headers = {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};
  return response;
}

// One snapshot now, then one after each store change, until the client
// goes, the server stops or the stream's time is up (EventSource then
// reconnects by itself after `retry`).
void StreamSnapshots(Store* store, const ForwardStatuses* statuses, const DashboardOptions& options,
                     ResponseStream& out) {
  if (!out.Send("retry: 2000\n\n")) return;
  int64_t sent = -1;
  absl::Time last_write = absl::Now();
  for (;;) {
    const int64_t revision = store->CurrentRevision();
    if (revision != sent) {
      absl::StatusOr<std::string> snapshot = SnapshotJson(store, statuses, options.limits);
      if (!snapshot.ok()) {
        LogWarning("dashboard stream: cannot read the store",
                   {{"error", snapshot.status().ToString()}});
        return;
      }
      // The JSON has no raw newline, so it is one data line.
      if (!out.Send(absl::StrCat("event: snapshot\ndata: ", *snapshot, "\n\n"))) return;
      sent = revision;
      last_write = absl::Now();
    } else if (absl::Now() - last_write >= options.keepalive) {
      if (!out.Send(":\n\n")) return;
      last_write = absl::Now();
    }
    if (!out.Wait(options.poll)) return;
  }
}

}  // namespace

void RegisterDashboard(observability::HttpServer* server, Store* store,
                       const ForwardStatuses* statuses, DashboardOptions options) {
  server->Handle(
      "/", [](const HttpRequest&) { return Asset("text/html; charset=utf-8", kDashboardHtml); });
  server->Handle("/dashboard.js", [](const HttpRequest&) {
    return Asset("text/javascript; charset=utf-8", kDashboardJs);
  });
  const ViewLimits limits = options.limits;
  server->Handle("/api/v1/forwards",
                 [=](const HttpRequest&) { return Json(ForwardsJson(store, statuses, limits)); });
  server->Handle("/api/v1/nodes",
                 [=](const HttpRequest&) { return Json(NodesJson(store, limits)); });
  server->Handle("/api/v1/events",
                 [=](const HttpRequest&) { return Json(EventsJson(store, limits)); });
  server->Handle("/api/v1/snapshot",
                 [=](const HttpRequest&) { return Json(SnapshotJson(store, statuses, limits)); });
  server->Handle("/api/v1/stream", [=](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "text/event-stream; charset=utf-8";
    response.headers = {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};
    response.stream = [=](ResponseStream& out) { StreamSnapshots(store, statuses, options, out); };
    return response;
  });
}

}  // namespace ferry::controller::dashboard
