#include "api/observability/endpoints.h"

#include <utility>

namespace ferry::observability {

void AddObservabilityEndpoints(HttpServer* server, const Registry* registry,
                               std::function<bool()> ready) {
  server->Handle("/metrics", [registry](const HttpRequest&) {
    HttpResponse response;
    response.content_type = kPrometheusContentType;
    response.body = registry->Render();
    return response;
  });
  server->Handle("/healthz", [](const HttpRequest&) {
    HttpResponse response;
    response.body = "ok\n";
    return response;
  });
  server->Handle("/readyz", [ready = std::move(ready)](const HttpRequest&) {
    HttpResponse response;
    bool is_ready = ready == nullptr || ready();
    response.status = is_ready ? 200 : 503;
    response.body = is_ready ? "ok\n" : "not ready\n";
    return response;
  });
}

}  // namespace ferry::observability
