#ifndef FERRY_API_OBSERVABILITY_ENDPOINTS_H_
#define FERRY_API_OBSERVABILITY_ENDPOINTS_H_

// The standard operational endpoints, so every binary exposes them alike:
//   /metrics  Prometheus text 0.0.4 from `registry`
//   /healthz  200 "ok" while the process serves HTTP at all
//   /readyz   200 when `ready()` is true, else 503

#include <functional>

#include "api/observability/http_server.h"
#include "api/observability/metrics.h"

namespace ferry::observability {

inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// `registry` and whatever `ready` captures must outlive the server.
void AddObservabilityEndpoints(HttpServer* server, const Registry* registry,
                               std::function<bool()> ready);

}  // namespace ferry::observability

#endif  // FERRY_API_OBSERVABILITY_ENDPOINTS_H_
