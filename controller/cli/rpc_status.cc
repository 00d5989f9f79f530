#include "controller/cli/rpc_status.h"

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/lib/grpc_status.h"
#include "controller/cli/channel.h"

namespace ferry::cli {
namespace {

// Payload type URL marking a status the server sent.
constexpr absl::string_view kFromServer = "type.ferry.dev/cli.FromServer";

// gRPC reports a failed TLS handshake only in its message text (there is
// no typed detail for it), so that is what is matched, and only to add a
// hint: the message itself is kept. Empty: no hint.
std::string TlsHint(absl::string_view address, absl::string_view message) {
  if (IsUnixTarget(address)) return "";
  const std::string lower = absl::AsciiStrToLower(message);
  for (absl::string_view word : {"handshake", "ssl", "tls", "certificate", "alert"}) {
    if (absl::StrContains(lower, word)) {
      return absl::StrCat(
          " (the TLS handshake failed: check that the client config's certificateAuthority is "
          "this controller's CA, that ",
          address,
          " is a name in its serving certificate (--tls-san), and that the port serves TLS)");
    }
  }
  // With TLS 1.3 the client finishes its half of the handshake before the
  // server has checked the client certificate, so a refused certificate
  // shows up as the server closing the connection.
  if (absl::StrContains(lower, "socket closed")) {
    return " (the controller closed the connection: check that the client config's "
           "clientCertificate was issued by this controller's CA and has not expired)";
  }
  return "";
}

}  // namespace

absl::Status ConvertRpcStatus(const grpc::Status& status, grpc::Channel& channel,
                              absl::string_view address, bool is_watch) {
  if (status.ok()) return absl::OkStatus();
  // A deadline hit before the channel ever connected is a connect timeout
  // (e.g. a black-holed address), not a slow server.
  const bool unreachable = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                           (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
                            !is_watch && channel.GetState(false) != GRPC_CHANNEL_READY);
  if (unreachable) {
    return absl::UnavailableError(absl::StrCat("cannot reach ferry-controller at ", address, ": ",
                                               status.error_message(),
                                               TlsHint(address, status.error_message())));
  }
  absl::Status converted = api::FromGrpcStatus(status);
  converted.SetPayload(kFromServer, absl::Cord());
  return converted;
}

bool IsFromServer(const absl::Status& status) { return status.GetPayload(kFromServer).has_value(); }

std::optional<std::string> ServerRefusalLine(const absl::Status& status) {
  if (!IsFromServer(status)) return std::nullopt;
  if (absl::IsPermissionDenied(status)) {
    // The controller's message begins "permission denied: "; a server that
    // says less still gets the words kubectl users look for.
    const bool says_so = absl::StartsWith(status.message(), "permission denied");
    return absl::StrCat(
        "Error from server (Forbidden): ", says_so ? "" : "permission denied: ", status.message());
  }
  if (absl::IsUnauthenticated(status)) {
    return absl::StrCat("Error from server (Unauthorized): ", status.message());
  }
  return std::nullopt;
}

}  // namespace ferry::cli
