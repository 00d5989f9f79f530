// Spec: every gRPC call the controller finishes is counted by method and
// status code, and timed, by the server interceptor; nothing in the
// handlers has to remember it.

#include "controller/server/grpc_metrics.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "ferry/v1/ferry.grpc.pb.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

// Get answers NOT_FOUND for "missing" and an empty object otherwise.
class StubResourceService final : public ferry::v1::ResourceService::Service {
  grpc::Status Get(grpc::ServerContext*, const ferry::v1::GetRequest* request,
                   ferry::v1::Object*) override {
    if (request->name() == "missing") return grpc::Status(grpc::StatusCode::NOT_FOUND, "no");
    return grpc::Status::OK;
  }
};

TEST(GrpcMetricsTest, CallsAreCountedByMethodAndCodeAndTimed) {
  observability::Registry registry;
  absl::StatusOr<std::unique_ptr<GrpcMetricsInterceptorFactory>> factory =
      GrpcMetricsInterceptorFactory::Create(&registry);
  ASSERT_TRUE(factory.ok()) << factory.status();
  StubResourceService service;
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(*std::move(factory));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub =
      ferry::v1::ResourceService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));

  for (const char* name : {"web", "web", "missing"}) {
    grpc::ClientContext context;
    ferry::v1::GetRequest request;
    request.set_name(name);
    ferry::v1::Object response;
    (void)stub->Get(&context, request, &response);
  }
  server->Shutdown();

  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("ferry_grpc_requests_total{method=\"/ferry.v1.ResourceService/"
                              "Get\",code=\"OK\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("ferry_grpc_requests_total{method=\"/ferry.v1.ResourceService/"
                              "Get\",code=\"NOT_FOUND\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("ferry_grpc_request_seconds_count{method=\"/ferry.v1."
                              "ResourceService/Get\"} 3\n"));
}

TEST(GrpcMetricsTest, CodeNamesAreTheCanonicalOnes) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::CANCELLED), "CANCELLED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::FAILED_PRECONDITION), "FAILED_PRECONDITION");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::DATA_LOSS), "DATA_LOSS");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(42)), "42");
}

}  // namespace
}  // namespace ferry::controller
