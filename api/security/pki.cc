// Stub; implementation in progress.
#include "api/security/pki.h"

#include "absl/status/status.h"

namespace ferry::security {
namespace {
absl::Status Unimpl() { return absl::UnimplementedError("pki: not implemented yet"); }
}  // namespace

absl::StatusOr<std::string> GenerateKeyPem() { return Unimpl(); }
absl::StatusOr<std::string> MakeCsrPem(absl::string_view, absl::string_view) { return Unimpl(); }
absl::StatusOr<CsrInfo> ParseCsrPem(absl::string_view) { return Unimpl(); }
absl::StatusOr<CertificateAuthority> CreateCertificateAuthority(absl::string_view, absl::Duration) {
  return Unimpl();
}
absl::StatusOr<std::string> SignCertificate(const CertificateAuthority&, const SigningRequest&) {
  return Unimpl();
}
absl::StatusOr<CertificateInfo> ParseCertificatePem(absl::string_view) { return Unimpl(); }
absl::Status VerifyCertificate(absl::string_view, absl::string_view, absl::Time) {
  return Unimpl();
}
absl::Status CheckKeyMatchesCertificate(absl::string_view, absl::string_view) { return Unimpl(); }
absl::StatusOr<std::string> SpkiSha256Hex(absl::string_view) { return Unimpl(); }
std::vector<std::string> SplitPemCertificates(absl::string_view) { return {}; }

}  // namespace ferry::security
