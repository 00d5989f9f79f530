#include "controller/server/grpc_metrics.h"

#include <chrono>

namespace ferry::controller {
namespace {

using grpc::experimental::InterceptionHookPoints;

class GrpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  GrpcMetricsInterceptor(std::string method, observability::CounterFamily* requests,
                         observability::HistogramFamily* seconds)
      : method_(std::move(method)),
        requests_(requests),
        seconds_(seconds),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
      requests_->WithLabels({method_, GrpcCodeName(methods->GetSendStatus().error_code())})
          ->Increment();
      seconds_->WithLabels({method_})->Observe(elapsed.count());
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  observability::CounterFamily* const requests_;
  observability::HistogramFamily* const seconds_;
  const std::chrono::steady_clock::time_point start_;
};

}  // namespace

std::string GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    default:
      return std::to_string(static_cast<int>(code));
  }
}

absl::StatusOr<std::unique_ptr<GrpcMetricsInterceptorFactory>>
GrpcMetricsInterceptorFactory::Create(observability::Registry* registry) {
  absl::StatusOr<observability::CounterFamily*> requests = registry->AddCounter(
      "ferry_grpc_requests_total", "gRPC calls the controller finished, by method and status code",
      {"method", "code"});
  if (!requests.ok()) return requests.status();
  absl::StatusOr<observability::HistogramFamily*> seconds = registry->AddHistogram(
      "ferry_grpc_request_seconds",
      "Time from a gRPC call's start to its status, by method (a stream: how long it was open)",
      {"method"});
  if (!seconds.ok()) return seconds.status();
  return std::unique_ptr<GrpcMetricsInterceptorFactory>(
      new GrpcMetricsInterceptorFactory(*requests, *seconds));
}

grpc::experimental::Interceptor* GrpcMetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new GrpcMetricsInterceptor(info->method() == nullptr ? "" : info->method(), requests_,
                                    seconds_);
}

}  // namespace ferry::controller
