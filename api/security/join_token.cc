#include "api/security/join_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/security/openssl_util.h"

namespace ferry::security {
namespace {

constexpr absl::string_view kPrefix = "ferry1";
constexpr size_t kIdLength = 6;
constexpr size_t kSecretLength = 16;
constexpr size_t kPinLength = 64;
constexpr absl::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr absl::string_view kFormat = "join token: expected ferry1.<id>.<secret>.<ca-hash>";

bool AllOf(absl::string_view s, absl::string_view allowed) {
  return s.find_first_not_of(allowed) == absl::string_view::npos;
}

bool IsTokenWord(absl::string_view s, size_t length) {
  return s.size() == length && AllOf(s, kAlphabet);
}

bool IsPin(absl::string_view s) { return s.size() == kPinLength && AllOf(s, "0123456789abcdef"); }

// `length` characters drawn uniformly from kAlphabet. A byte maps to a
// character only below the largest multiple of 36 (252), so every
// character is equally likely; the few bytes above are drawn again.
absl::StatusOr<std::string> RandomWord(size_t length) {
  constexpr unsigned kLimit = 256 - 256 % kAlphabet.size();
  std::string word;
  // Bounded: each draw keeps a byte with probability 252/256.
  for (int round = 0; word.size() < length && round < 64; ++round) {
    absl::StatusOr<std::string> bytes = RandomBytes(length * 2);
    if (!bytes.ok()) return bytes.status();
    for (unsigned char b : *bytes) {
      if (b < kLimit && word.size() < length) word.push_back(kAlphabet[b % kAlphabet.size()]);
    }
  }
  if (word.size() < length) return absl::InternalError("random: CSPRNG output is not random");
  return word;
}

}  // namespace

std::string JoinToken::ToString() const {
  return absl::StrCat(kPrefix, ".", id, ".", secret, ".", ca_pin);
}

absl::StatusOr<JoinToken> NewJoinToken(absl::string_view ca_pin) {
  if (!IsPin(ca_pin)) {
    return absl::InvalidArgumentError(
        "join token: ca pin must be 64 lower-case hex characters (SHA-256 of the CA's "
        "SubjectPublicKeyInfo, as SpkiSha256Hex gives)");
  }
  JoinToken token;
  absl::StatusOr<std::string> id = RandomWord(kIdLength);
  if (!id.ok()) return id.status();
  absl::StatusOr<std::string> secret = RandomWord(kSecretLength);
  if (!secret.ok()) return secret.status();
  token.id = *std::move(id);
  token.secret = *std::move(secret);
  token.ca_pin = std::string(ca_pin);
  return token;
}

absl::StatusOr<JoinToken> ParseJoinToken(absl::string_view text) {
  // A token pasted from a file or terminal often carries a newline.
  text = absl::StripAsciiWhitespace(text);
  // No message below quotes the input: any part of it may be the secret.
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat(kFormat, " (4 parts separated by '.', got ", parts.size(), ")"));
  }
  if (parts[0] != kPrefix) {
    return absl::InvalidArgumentError(absl::StrCat(kFormat, " (prefix must be \"ferry1\")"));
  }
  if (!IsTokenWord(parts[1], kIdLength)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kFormat, " (id must be ", kIdLength, " characters of [a-z0-9])"));
  }
  if (!IsTokenWord(parts[2], kSecretLength)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kFormat, " (secret must be ", kSecretLength, " characters of [a-z0-9])"));
  }
  if (!IsPin(parts[3])) {
    return absl::InvalidArgumentError(
        absl::StrCat(kFormat, " (ca-hash must be ", kPinLength, " lower-case hex characters)"));
  }
  return JoinToken{std::string(parts[1]), std::string(parts[2]), std::string(parts[3])};
}

std::string HashSecret(absl::string_view secret) { return internal::Sha256(secret); }

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  // The length is not secret (every hash is 32 bytes, every secret 16
  // characters); only the contents are compared in constant time.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  if (n > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat("random: ", n, " bytes is too many"));
  }
  std::string bytes(n, '\0');
  if (n == 0) return bytes;
  internal::ClearOpenSslErrors();
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1) {
    return internal::OpenSslError("random: RAND_bytes");
  }
  return bytes;
}

std::string HexEncode(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 0xf]);
  }
  return hex;
}

std::string HmacSha256Hex(absl::string_view key, absl::string_view message) {
  // HMAC() wants non-null pointers even for empty input.
  static const unsigned char kEmpty = 0;
  const void* key_data = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  const unsigned char* data =
      message.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(message.data());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (key.size() > static_cast<size_t>(INT_MAX) ||
      HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()), data, message.size(), mac,
           &size) == nullptr) {
    // A signature that silently came out empty would be sent as if valid.
    std::fprintf(stderr, "%s\n", internal::OpenSslError("ferry: HMAC-SHA256").ToString().c_str());
    std::abort();
  }
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(mac), size));
}

}  // namespace ferry::security
