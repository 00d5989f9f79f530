#ifndef FERRY_CONTROLLER_CLI_RPC_STATUS_H_
#define FERRY_CONTROLLER_CLI_RPC_STATUS_H_

// The one place ferryctl turns a finished call's grpc::Status into the
// absl::Status it prints: a failure to connect names the address (and, for
// a failed TLS handshake, what to check); anything else is what the server
// said, and is marked so, since "Error from server" must only be printed
// when the server said it.

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"

namespace ferry::cli {

// `is_watch`: a Watch ends at the caller's own deadline, which is not a
// connect failure.
absl::Status ConvertRpcStatus(const grpc::Status& status, grpc::Channel& channel,
                              absl::string_view address, bool is_watch = false);

// True for statuses ConvertRpcStatus passed on from the server.
bool IsFromServer(const absl::Status& status);

// kubectl's line for a refusal by the server, e.g.
//   Error from server (Forbidden): permission denied: user "bob" (viewer) may not apply
// for PERMISSION_DENIED and UNAUTHENTICATED from the server; nullopt for
// anything else.
std::optional<std::string> ServerRefusalLine(const absl::Status& status);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_RPC_STATUS_H_
