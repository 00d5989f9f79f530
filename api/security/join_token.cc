// Stub; implementation in progress.
#include "api/security/join_token.h"

#include "absl/status/status.h"

namespace ferry::security {

std::string JoinToken::ToString() const { return "ferry1." + id + "." + secret + "." + ca_pin; }
absl::StatusOr<JoinToken> NewJoinToken(absl::string_view) {
  return absl::UnimplementedError("join token: not implemented yet");
}
absl::StatusOr<JoinToken> ParseJoinToken(absl::string_view) {
  return absl::UnimplementedError("join token: not implemented yet");
}
std::string HashSecret(absl::string_view) { return ""; }
bool ConstantTimeEquals(absl::string_view, absl::string_view) { return false; }
absl::StatusOr<std::string> RandomBytes(size_t) {
  return absl::UnimplementedError("random: not implemented yet");
}
std::string HexEncode(absl::string_view) { return ""; }
std::string HmacSha256Hex(absl::string_view, absl::string_view) { return ""; }

}  // namespace ferry::security
