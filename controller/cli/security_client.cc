#include "controller/cli/security_client.h"

#include <utility>

#include "controller/cli/rpc_status.h"
#include "grpcpp/client_context.h"

namespace ferry::cli {

using ferry::v1::SecurityService;

SecurityClient::SecurityClient(std::shared_ptr<grpc::Channel> channel, std::string address,
                               absl::Duration timeout)
    : channel_(std::move(channel)),
      stub_(SecurityService::NewStub(channel_)),
      address_(std::move(address)),
      timeout_(timeout) {}

template <typename Request, typename Response, typename Method>
absl::StatusOr<Response> SecurityClient::Call(Method method, const Request& request) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  Response response;
  const grpc::Status status = ((*stub_).*method)(&context, request, &response);
  if (absl::Status s = ConvertRpcStatus(status, *channel_, address_); !s.ok()) return s;
  return response;
}

absl::StatusOr<ferry::v1::CreateJoinTokenResponse> SecurityClient::CreateJoinToken(
    const ferry::v1::CreateJoinTokenRequest& request) {
  return Call<ferry::v1::CreateJoinTokenRequest, ferry::v1::CreateJoinTokenResponse>(
      &SecurityService::Stub::CreateJoinToken, request);
}

absl::StatusOr<ferry::v1::CertificateResponse> SecurityClient::CreateCredentials(
    const ferry::v1::CreateCredentialsRequest& request) {
  return Call<ferry::v1::CreateCredentialsRequest, ferry::v1::CertificateResponse>(
      &SecurityService::Stub::CreateCredentials, request);
}

absl::StatusOr<ferry::v1::RevokeResponse> SecurityClient::Revoke(
    const ferry::v1::RevokeRequest& request) {
  return Call<ferry::v1::RevokeRequest, ferry::v1::RevokeResponse>(&SecurityService::Stub::Revoke,
                                                                   request);
}

}  // namespace ferry::cli
