#ifndef FERRY_TESTS_UNIT_AGENT_TEST_PKI_H_
#define FERRY_TESTS_UNIT_AGENT_TEST_PKI_H_

// Certificates for the agent's tests, made by api/security as the
// controller makes them. Failures fail the test that asked.

#include <string>
#include <utility>
#include <vector>

#include "api/security/pki.h"
#include "gtest/gtest.h"
#include "node-agent/client/credential_files.h"

namespace ferry::agent::testing {

inline security::CertificateAuthority MakeCa(const std::string& name = "ferry-ca") {
  absl::StatusOr<security::CertificateAuthority> ca =
      security::CreateCertificateAuthority(name, absl::Hours(24 * 365));
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? *ca : security::CertificateAuthority{};
}

// A certificate for `key_pem`, signed by `ca`.
inline std::string Sign(const security::CertificateAuthority& ca, const std::string& key_pem,
                        const std::string& name, const std::string& role, bool server,
                        absl::Duration validity, std::vector<std::string> sans = {}) {
  security::SigningRequest request;
  absl::StatusOr<std::string> csr = security::MakeCsrPem(key_pem, name);
  EXPECT_TRUE(csr.ok()) << csr.status();
  request.csr_pem = csr.ok() ? *csr : "";
  request.common_name = name;
  request.role = role;
  request.server = server;
  request.sans = std::move(sans);
  request.validity = validity;
  absl::StatusOr<std::string> cert = security::SignCertificate(ca, request);
  EXPECT_TRUE(cert.ok()) << cert.status();
  return cert.ok() ? *cert : "";
}

inline std::string NewKey() {
  absl::StatusOr<std::string> key = security::GenerateKeyPem();
  EXPECT_TRUE(key.ok()) << key.status();
  return key.ok() ? *key : "";
}

// A node's key, certificate and CA, as a join leaves them.
inline NodeCredentials NodeIdentity(const security::CertificateAuthority& ca,
                                    const std::string& node,
                                    absl::Duration validity = absl::Hours(24 * 30)) {
  NodeCredentials out;
  out.key_pem = NewKey();
  out.cert_pem = Sign(ca, out.key_pem, node, "node", /*server=*/false, validity);
  out.ca_pem = ca.cert_pem;
  return out;
}

inline std::string Pin(const std::string& cert_pem) {
  absl::StatusOr<std::string> pin = security::SpkiSha256Hex(cert_pem);
  EXPECT_TRUE(pin.ok()) << pin.status();
  return pin.ok() ? *pin : "";
}

inline security::CertificateInfo Info(const std::string& cert_pem) {
  absl::StatusOr<security::CertificateInfo> info = security::ParseCertificatePem(cert_pem);
  EXPECT_TRUE(info.ok()) << info.status();
  return info.ok() ? *info : security::CertificateInfo{};
}

}  // namespace ferry::agent::testing

#endif  // FERRY_TESTS_UNIT_AGENT_TEST_PKI_H_
