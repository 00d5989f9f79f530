#ifndef FERRY_API_SECURITY_PKI_H_
#define FERRY_API_SECURITY_PKI_H_

// Keys, certificate requests and certificates over OpenSSL, as PEM text.
// The only place Ferry touches X.509. Everything is a value in and a value
// out, so the controller's CA, the agent's join and ferryctl's credentials
// share one implementation and each piece is unit-testable without gRPC.
//
// Identity convention: a client certificate's CN is the principal's name
// (a node name or a user name) and its O is "ferry:<role>" with role one of
// node, viewer, editor, admin (as Kubernetes puts a kubelet in
// "system:nodes"). Serving certificates carry SANs and no role.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ferry::security {

inline constexpr char kRoleOrgPrefix[] = "ferry:";

// A new ECDSA P-256 private key, PKCS#8 PEM.
absl::StatusOr<std::string> GenerateKeyPem();

// A PKCS#10 request signed by `key_pem`, subject CN=`common_name`.
absl::StatusOr<std::string> MakeCsrPem(absl::string_view key_pem, absl::string_view common_name);

// What a CSR says, once its self-signature has been verified. Errors are
// INVALID_ARGUMENT ("csr: not a PEM certificate request", "csr: bad
// signature", "csr: key is not ECDSA P-256, ECDSA P-384 or RSA >= 2048").
struct CsrInfo {
  std::string common_name;
  std::string public_key_pem;
};
absl::StatusOr<CsrInfo> ParseCsrPem(absl::string_view csr_pem);

struct CertificateAuthority {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign)
// valid from now - 1 h (clock skew) for `validity`.
absl::StatusOr<CertificateAuthority> CreateCertificateAuthority(absl::string_view common_name,
                                                                absl::Duration validity);

struct SigningRequest {
  std::string csr_pem;
  // Overrides the CSR's CN: the signer decides who the holder is, never the
  // requester.
  std::string common_name;
  // "node", "viewer", "editor", "admin"; empty for a serving certificate.
  std::string role;
  // Serving certificate: extendedKeyUsage serverAuth and these SANs
  // (IP addresses and DNS names, told apart by parsing). Client
  // certificate (server == false): clientAuth only.
  bool server = false;
  std::vector<std::string> sans;
  absl::Duration validity = absl::Hours(24 * 90);
};

// Signs a request with the CA; a random 128-bit serial, valid from now - 1 h
// (clock skew) to now + validity. INVALID_ARGUMENT if the CSR fails
// ParseCsrPem, the CA key does not match its certificate, common_name is
// empty or over 64 bytes, a serving certificate has no SANs, a client
// certificate has some, or a SAN is neither an IP address nor a DNS name.
absl::StatusOr<std::string> SignCertificate(const CertificateAuthority& ca,
                                            const SigningRequest& request);

struct CertificateInfo {
  std::string serial;  // lower-case hex, no leading zeros
  std::string common_name;
  std::string role;  // from O "ferry:<role>"; empty if none
  absl::Time not_before;
  absl::Time not_after;
  std::vector<std::string> sans;
  std::string spki_sha256;  // hex SHA-256 of the DER SubjectPublicKeyInfo
};

// Parses the first certificate in `cert_pem`.
absl::StatusOr<CertificateInfo> ParseCertificatePem(absl::string_view cert_pem);

// OK if `cert_pem` is signed by `ca_cert_pem` and valid at `now`;
// otherwise UNAUTHENTICATED saying why (expired, not yet valid, wrong CA).
absl::Status VerifyCertificate(absl::string_view cert_pem, absl::string_view ca_cert_pem,
                               absl::Time now);

// OK if the private key in `key_pem` belongs to the certificate.
absl::Status CheckKeyMatchesCertificate(absl::string_view key_pem, absl::string_view cert_pem);

// Hex SHA-256 of a certificate's DER SubjectPublicKeyInfo: the CA pin a
// join token carries (kubeadm's --discovery-token-ca-cert-hash).
absl::StatusOr<std::string> SpkiSha256Hex(absl::string_view cert_pem);

// Splits a PEM bundle into its certificates, in order.
std::vector<std::string> SplitPemCertificates(absl::string_view pem_bundle);

}  // namespace ferry::security

#endif  // FERRY_API_SECURITY_PKI_H_
