#ifndef FERRY_API_LIB_GRPC_STATUS_H_
#define FERRY_API_LIB_GRPC_STATUS_H_

// The one place where absl::Status and grpc::Status meet. Both use the
// canonical codes (google.rpc.Code), so code and message pass through
// unchanged; a code outside 0..16 becomes UNKNOWN either way.

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace ferry::api {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_GRPC_STATUS_H_
