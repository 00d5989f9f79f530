#include "controller/server/grpc_metrics.h"

#include <chrono>
#include <string>

#include "absl/status/status.h"

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
  // gRPC's codes are absl's, value for value and name for name.
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? std::to_string(static_cast<int>(code)) : name;
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
