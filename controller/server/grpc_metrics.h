#ifndef FERRY_CONTROLLER_SERVER_GRPC_METRICS_H_
#define FERRY_CONTROLLER_SERVER_GRPC_METRICS_H_

// gRPC request metrics for every service the controller serves, as a
// server interceptor (so no handler has to remember them):
//
//   ferry_grpc_requests_total{method="/ferry.v1.ResourceService/Apply",code="OK"}
//   ferry_grpc_request_seconds{method=...}   histogram, start to status
//
// A streaming call is counted when it ends, and its "latency" is how long
// it was open: an agent's Sync or a Watch lives for hours, so dashboards
// read latency for the unary methods.

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api/observability/metrics.h"

namespace ferry::controller {

// The status code's canonical name ("OK", "RESOURCE_EXHAUSTED").
std::string GrpcCodeName(grpc::StatusCode code);

class GrpcMetricsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // Registers the two families on `registry`, which must outlive the server.
  static absl::StatusOr<std::unique_ptr<GrpcMetricsInterceptorFactory>> Create(
      observability::Registry* registry);

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  GrpcMetricsInterceptorFactory(observability::CounterFamily* requests,
                                observability::HistogramFamily* seconds)
      : requests_(requests), seconds_(seconds) {}

  observability::CounterFamily* const requests_;
  observability::HistogramFamily* const seconds_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_GRPC_METRICS_H_
