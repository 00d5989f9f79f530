// Spec: a certificate is accepted only at an instant inside its validity
// and only from the CA that signed it; a key is matched to its certificate;
// the SPKI pin names a key, not a certificate; PEM bundles split in order.

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "api/security/join_token.h"
#include "api/security/pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::security {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

struct Issued {
  CertificateAuthority ca;
  std::string key_pem;
  std::string csr_pem;
  std::string cert_pem;
  CertificateInfo info;
};

// A CA named `ca_name` and a client certificate for node-1 it signed.
Issued Issue(const std::string& ca_name = "ferry-ca") {
  Issued out;
  out.ca = *CreateCertificateAuthority(ca_name, absl::Hours(24 * 365));
  out.key_pem = *GenerateKeyPem();
  out.csr_pem = *MakeCsrPem(out.key_pem, "node-1");
  SigningRequest request;
  request.csr_pem = out.csr_pem;
  request.common_name = "node-1";
  request.role = "node";
  request.validity = absl::Hours(24);
  absl::StatusOr<std::string> cert = SignCertificate(out.ca, request);
  EXPECT_TRUE(cert.ok()) << cert.status();
  out.cert_pem = *cert;
  out.info = *ParseCertificatePem(out.cert_pem);
  return out;
}

TEST(VerifyTest, AcceptsACertificateFromItsCaWithinItsValidity) {
  const Issued issued = Issue();
  EXPECT_EQ(VerifyCertificate(issued.cert_pem, issued.ca.cert_pem, absl::Now()), absl::OkStatus());
  EXPECT_EQ(VerifyCertificate(issued.cert_pem, issued.ca.cert_pem,
                              issued.info.not_after - absl::Seconds(1)),
            absl::OkStatus());
}

TEST(VerifyTest, RefusesAnExpiredCertificateSayingSo) {
  const Issued issued = Issue();
  absl::Status status = VerifyCertificate(issued.cert_pem, issued.ca.cert_pem,
                                          issued.info.not_after + absl::Seconds(1));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("certificate has expired"));
  EXPECT_THAT(status.message(), HasSubstr("node-1"));
}

TEST(VerifyTest, RefusesACertificateNotYetValid) {
  const Issued issued = Issue();
  absl::Status status = VerifyCertificate(issued.cert_pem, issued.ca.cert_pem,
                                          issued.info.not_before - absl::Seconds(1));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("not yet valid"));
}

TEST(VerifyTest, RefusesACertificateFromAnotherCaEvenWithTheSameName) {
  const Issued issued = Issue("ferry-ca");
  const Issued other = Issue("ferry-ca");
  absl::Status status = VerifyCertificate(issued.cert_pem, other.ca.cert_pem, absl::Now());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(status.message(), HasSubstr("node-1"));
}

TEST(VerifyTest, TrustsEveryCaInABundle) {
  const Issued issued = Issue();
  const std::string bundle = Issue().ca.cert_pem + issued.ca.cert_pem;
  EXPECT_EQ(VerifyCertificate(issued.cert_pem, bundle, absl::Now()), absl::OkStatus());
}

TEST(VerifyTest, GarbageIsNeitherACertificateNorACa) {
  const Issued issued = Issue();
  EXPECT_EQ(VerifyCertificate("junk", issued.ca.cert_pem, absl::Now()).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyCertificate(issued.cert_pem, "junk", absl::Now()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(VerifyTest, KeyMatchesOnlyItsOwnCertificate) {
  const Issued issued = Issue();
  EXPECT_EQ(CheckKeyMatchesCertificate(issued.key_pem, issued.cert_pem), absl::OkStatus());
  absl::Status status = CheckKeyMatchesCertificate(*GenerateKeyPem(), issued.cert_pem);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("does not match"));
  EXPECT_EQ(CheckKeyMatchesCertificate(issued.ca.key_pem, issued.cert_pem).code(),
            absl::StatusCode::kInvalidArgument);
}

// Hex SHA-256 of the DER SubjectPublicKeyInfo in a PEM public key.
std::string PinOfPublicKey(const std::string& public_key_pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(public_key_pem.data(), public_key_pem.size()), BIO_free);
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(key, &der);
  EVP_PKEY_free(key);
  unsigned char digest[32];
  EVP_Digest(der, size, digest, nullptr, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  return HexEncode(std::string(reinterpret_cast<char*>(digest), sizeof(digest)));
}

TEST(VerifyTest, SpkiPinIsStableAndNamesTheKeyNotTheCertificate) {
  const Issued issued = Issue();
  absl::StatusOr<std::string> ca_pin = SpkiSha256Hex(issued.ca.cert_pem);
  ASSERT_TRUE(ca_pin.ok()) << ca_pin.status();
  EXPECT_THAT(*ca_pin, MatchesRegex("[0-9a-f]{64}"));
  EXPECT_EQ(*SpkiSha256Hex(issued.ca.cert_pem), *ca_pin);
  EXPECT_EQ(ParseCertificatePem(issued.ca.cert_pem)->spki_sha256, *ca_pin);
  // The first certificate of a bundle is the one pinned.
  EXPECT_EQ(*SpkiSha256Hex(issued.ca.cert_pem + issued.cert_pem), *ca_pin);

  EXPECT_NE(issued.info.spki_sha256, *ca_pin);
  EXPECT_EQ(issued.info.spki_sha256, PinOfPublicKey(ParseCsrPem(issued.csr_pem)->public_key_pem));
  SigningRequest again;
  again.csr_pem = issued.csr_pem;
  again.common_name = "node-1";
  EXPECT_EQ(*SpkiSha256Hex(*SignCertificate(issued.ca, again)), issued.info.spki_sha256);
}

TEST(VerifyTest, SplitsABundleIntoItsCertificatesInOrder) {
  const Issued issued = Issue();
  const std::string bundle = "comment\n" + issued.cert_pem + "between\n" + issued.ca.cert_pem +
                             "-----BEGIN CERTIFICATE-----\ntruncated";
  const std::vector<std::string> certs = SplitPemCertificates(bundle);
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(certs[0], issued.cert_pem);
  EXPECT_EQ(certs[1], issued.ca.cert_pem);
  EXPECT_TRUE(SplitPemCertificates("no certificates here").empty());
}

}  // namespace
}  // namespace ferry::security
