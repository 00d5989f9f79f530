#include "controller/dashboard/metrics_serving.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "api/observability/tls_server_context.h"

namespace ferry::controller::dashboard {

absl::StatusOr<observability::HttpServerOptions> MetricsServerOptions(
    const std::string& metrics_listen, bool any_tcp_listener, const ControllerPki& pki) {
  observability::HttpServerOptions options;
  options.listen = metrics_listen;
  if (!any_tcp_listener && observability::IsLoopbackListen(metrics_listen)) {
    LogInfo(
        "--metrics-listen serves plain HTTP: it is loopback and the controller has no TCP "
        "listener (unix socket only); with a TCP --listen it serves HTTPS",
        {{"address", metrics_listen}});
    return options;
  }
  absl::StatusOr<std::unique_ptr<observability::TlsServerContext>> tls =
      observability::TlsServerContext::Create(pki.server_chain_pem(), pki.server_key_pem());
  if (!tls.ok()) {
    return absl::Status(tls.status().code(),
                        absl::StrCat("--metrics-listen: ", tls.status().message()));
  }
  options.tls = *std::move(tls);
  LogInfo("--metrics-listen serves HTTPS with the controller's serving certificate",
          {{"address", metrics_listen}});
  return options;
}

}  // namespace ferry::controller::dashboard
