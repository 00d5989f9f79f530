#ifndef FERRY_CONTROLLER_SERVER_GRPC_STATUS_H_
#define FERRY_CONTROLLER_SERVER_GRPC_STATUS_H_

// The one place where absl::Status and grpc::Status meet. Both use the
// canonical codes, so the code and message pass through unchanged.

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace ferry::controller {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_GRPC_STATUS_H_
