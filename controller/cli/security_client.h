#ifndef FERRY_CONTROLLER_CLI_SECURITY_CLIENT_H_
#define FERRY_CONTROLLER_CLI_SECURITY_CLIENT_H_

// A thin, blocking wrapper over the SecurityService stub for ferryctl's
// admin verbs: a deadline on every call and statuses converted by
// ConvertRpcStatus, so commands deal only in protos and Status.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ferry/v1/security.grpc.pb.h"
#include "ferry/v1/security.pb.h"
#include "grpcpp/channel.h"

namespace ferry::cli {

class SecurityClient {
 public:
  // `address` is the server as ferryctl was told it: used in messages, and
  // as the address a new config or join command names.
  SecurityClient(std::shared_ptr<grpc::Channel> channel, std::string address,
                 absl::Duration timeout);

  absl::StatusOr<ferry::v1::CreateJoinTokenResponse> CreateJoinToken(
      const ferry::v1::CreateJoinTokenRequest& request);
  absl::StatusOr<ferry::v1::CertificateResponse> CreateCredentials(
      const ferry::v1::CreateCredentialsRequest& request);
  absl::StatusOr<ferry::v1::RevokeResponse> Revoke(const ferry::v1::RevokeRequest& request);

  const std::string& address() const { return address_; }

 private:
  template <typename Request, typename Response, typename Method>
  absl::StatusOr<Response> Call(Method method, const Request& request);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ferry::v1::SecurityService::Stub> stub_;
  std::string address_;
  absl::Duration timeout_;
};

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_SECURITY_CLIENT_H_
