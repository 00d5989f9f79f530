#ifndef FERRY_CONTROLLER_DASHBOARD_METRICS_SERVING_H_
#define FERRY_CONTROLLER_DASHBOARD_METRICS_SERVING_H_

// How the controller serves --metrics-listen (metrics, health and the
// dashboard): HTTPS with the serving certificate its gRPC TCP listeners
// present, chaining to the CA under DATA_DIR/pki (or --client-ca). Plain
// HTTP only when the address is loopback and the controller has no TCP
// listener (the single-host lab: a unix socket only), and the log says so.

#include <string>

#include "absl/status/statusor.h"
#include "api/observability/http_server.h"
#include "controller/security/controller_pki.h"

namespace ferry::controller::dashboard {

// `any_tcp_listener`: whether some --listen address is TCP (and so TLS).
absl::StatusOr<observability::HttpServerOptions> MetricsServerOptions(
    const std::string& metrics_listen, bool any_tcp_listener, const ControllerPki& pki);

}  // namespace ferry::controller::dashboard

#endif  // FERRY_CONTROLLER_DASHBOARD_METRICS_SERVING_H_
