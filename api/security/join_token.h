#ifndef FERRY_API_SECURITY_JOIN_TOKEN_H_
#define FERRY_API_SECURITY_JOIN_TOKEN_H_

// Join tokens: "ferry1.<id>.<secret>.<ca-pin>".
//   id      6 chars [a-z0-9]: the public half, the store key.
//   secret  16 chars [a-z0-9]: stored only as its SHA-256.
//   ca-pin  64 hex chars: SHA-256 of the CA's SubjectPublicKeyInfo, so the
//           joining agent can tell the real controller from an impostor
//           before it sends the secret (kubeadm's discovery hash, folded
//           into the one string an operator copies).

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::security {

struct JoinToken {
  std::string id;
  std::string secret;
  std::string ca_pin;  // hex SHA-256

  std::string ToString() const;
};

// A fresh token with random id and secret from the OS CSPRNG.
absl::StatusOr<JoinToken> NewJoinToken(absl::string_view ca_pin);

// INVALID_ARGUMENT saying which part is malformed ("join token: expected
// ferry1.<id>.<secret>.<ca-hash>"); never echoes the secret.
absl::StatusOr<JoinToken> ParseJoinToken(absl::string_view text);

// Raw SHA-256 of the secret, as stored.
std::string HashSecret(absl::string_view secret);

// Constant-time comparison, for secrets and their hashes.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// n random bytes from the OS CSPRNG.
absl::StatusOr<std::string> RandomBytes(size_t n);

// Lower-case hex of bytes.
std::string HexEncode(absl::string_view bytes);

// Hex HMAC-SHA256 of `message` under `key` (webhook signatures).
std::string HmacSha256Hex(absl::string_view key, absl::string_view message);

}  // namespace ferry::security

#endif  // FERRY_API_SECURITY_JOIN_TOKEN_H_
