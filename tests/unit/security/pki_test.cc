// Spec: keys, CSRs and certificates as pki.h makes them. The signer, not
// the requester, decides who a certificate names; a CSR must prove it holds
// its key; issued certificates carry the extensions TLS peers check.

#include "api/security/pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::security {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

std::unique_ptr<X509, X509Free> ReadX509(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), pem.size()), BIO_free);
  return std::unique_ptr<X509, X509Free>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

std::string PemOfKey(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, size);
  EVP_PKEY_free(key);
  return pem;
}

std::string Csr(const std::string& common_name) {
  absl::StatusOr<std::string> key = GenerateKeyPem();
  EXPECT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::string> csr = MakeCsrPem(*key, common_name);
  EXPECT_TRUE(csr.ok()) << csr.status();
  return *csr;
}

CertificateAuthority Ca(const std::string& name = "ferry-ca") {
  absl::StatusOr<CertificateAuthority> ca = CreateCertificateAuthority(name, absl::Hours(24));
  EXPECT_TRUE(ca.ok()) << ca.status();
  return *ca;
}

TEST(PkiTest, GeneratedKeyIsPkcs8AndItsCsrRoundTrips) {
  absl::StatusOr<std::string> key = GenerateKeyPem();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_THAT(*key, StartsWith("-----BEGIN PRIVATE KEY-----"));
  absl::StatusOr<std::string> csr = MakeCsrPem(*key, "node-1");
  ASSERT_TRUE(csr.ok()) << csr.status();
  absl::StatusOr<CsrInfo> info = ParseCsrPem(*csr);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->common_name, "node-1");
  EXPECT_THAT(info->public_key_pem, StartsWith("-----BEGIN PUBLIC KEY-----"));
}

TEST(PkiTest, CsrWithTamperedSignatureIsRefused) {
  const std::string pem = Csr("node-1");
  std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_mem_buf(pem.data(), pem.size()), BIO_free);
  X509_REQ* req = PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr);
  ASSERT_NE(req, nullptr);
  unsigned char* der = nullptr;
  const int size = i2d_X509_REQ(req, &der);
  X509_REQ_free(req);
  ASSERT_GT(size, 0);
  der[size - 1] ^= 0x01;  // The last byte is inside the signature.
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio(out.get(), "CERTIFICATE REQUEST", "", der, size);
  OPENSSL_free(der);
  char* data = nullptr;
  const long pem_size = BIO_get_mem_data(out.get(), &data);
  const std::string tampered(data, pem_size);

  absl::StatusOr<CsrInfo> info = ParseCsrPem(tampered);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(info.status().message(), HasSubstr("csr: bad signature"));
}

TEST(PkiTest, CsrWithWeakRsaKeyIsRefusedAndP384Accepted) {
  absl::StatusOr<std::string> weak = MakeCsrPem(PemOfKey(EVP_RSA_gen(1024)), "node-1");
  ASSERT_TRUE(weak.ok()) << weak.status();
  EXPECT_THAT(ParseCsrPem(*weak).status().message(), HasSubstr("csr: key is not ECDSA P-256"));

  absl::StatusOr<std::string> p384 = MakeCsrPem(PemOfKey(EVP_EC_gen("P-384")), "node-1");
  ASSERT_TRUE(p384.ok()) << p384.status();
  EXPECT_TRUE(ParseCsrPem(*p384).ok());
}

TEST(PkiTest, GarbageIsNotACsr) {
  EXPECT_THAT(ParseCsrPem("hello").status().message(), HasSubstr("csr: not a PEM"));
  EXPECT_EQ(MakeCsrPem("not a key", "node-1").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PkiTest, CaIsSelfSignedLeafOnlyCaValidFromAnHourAgo) {
  const absl::Time before = absl::Now();
  const CertificateAuthority ca = Ca();
  auto x = ReadX509(ca.cert_pem);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(X509_check_ca(x.get()), 1);
  EXPECT_EQ(X509_get_pathlen(x.get()), 0);
  EXPECT_EQ(X509_get_key_usage(x.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(x.get()), nullptr);
  EXPECT_EQ(CheckKeyMatchesCertificate(ca.key_pem, ca.cert_pem), absl::OkStatus());

  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(ca.cert_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->common_name, "ferry-ca");
  EXPECT_LE(info->not_before, before - absl::Hours(1) + absl::Seconds(1));
  EXPECT_GE(info->not_before, before - absl::Hours(1) - absl::Seconds(1));
  EXPECT_GE(info->not_after, before + absl::Hours(24) - absl::Seconds(1));
  EXPECT_EQ(VerifyCertificate(ca.cert_pem, ca.cert_pem, absl::Now()), absl::OkStatus());
}

TEST(PkiTest, ClientCertNameAndRoleComeFromTheRequestNotTheCsr) {
  const CertificateAuthority ca = Ca();
  SigningRequest request;
  request.csr_pem = Csr("admin");  // What the requester would like to be.
  request.common_name = "node-1";
  request.role = "node";
  absl::StatusOr<std::string> cert = SignCertificate(ca, request);
  ASSERT_TRUE(cert.ok()) << cert.status();

  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(*cert);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->common_name, "node-1");
  EXPECT_EQ(info->role, "node");
  EXPECT_TRUE(info->sans.empty());
  auto x = ReadX509(*cert);
  EXPECT_EQ(X509_check_ca(x.get()), 0);
  EXPECT_EQ(X509_get_extended_key_usage(x.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
  EXPECT_EQ(X509_get_key_usage(x.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_NE(X509_get0_authority_key_id(x.get()), nullptr);
}

TEST(PkiTest, ServerCertCarriesIpAndDnsSans) {
  SigningRequest request;
  request.csr_pem = Csr("ignored");
  request.common_name = "ferry-controller";
  request.server = true;
  request.sans = {"127.0.0.1", "::1", "localhost", "ctl.example.com", "2001:db8::1"};
  absl::StatusOr<std::string> cert = SignCertificate(Ca(), request);
  ASSERT_TRUE(cert.ok()) << cert.status();

  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(*cert);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_THAT(info->sans,
              ElementsAre("127.0.0.1", "::1", "localhost", "ctl.example.com", "2001:db8::1"));
  EXPECT_EQ(info->role, "");
  auto x = ReadX509(*cert);
  EXPECT_EQ(X509_get_extended_key_usage(x.get()), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_check_ip_asc(x.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(x.get(), "localhost", 0, 0, nullptr), 1);
}

TEST(PkiTest, SerialsAreRandomLowerHexWithoutLeadingZeros) {
  const CertificateAuthority ca = Ca();
  SigningRequest request;
  request.csr_pem = Csr("x");
  request.common_name = "alice";
  request.role = "viewer";
  absl::StatusOr<CertificateInfo> a = ParseCertificatePem(*SignCertificate(ca, request));
  absl::StatusOr<CertificateInfo> b = ParseCertificatePem(*SignCertificate(ca, request));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_THAT(a->serial, MatchesRegex("[1-9a-f][0-9a-f]{0,31}"));
  EXPECT_THAT(b->serial, MatchesRegex("[1-9a-f][0-9a-f]{0,31}"));
  EXPECT_NE(a->serial, b->serial);
}

TEST(PkiTest, SigningRequestsThatCannotBeRightAreRefused) {
  const CertificateAuthority ca = Ca();
  SigningRequest good;
  good.csr_pem = Csr("x");
  good.common_name = "node-1";

  SigningRequest no_name = good;
  no_name.common_name = "";
  EXPECT_THAT(SignCertificate(ca, no_name).status().message(), HasSubstr("common_name"));

  SigningRequest server_without_sans = good;
  server_without_sans.server = true;
  EXPECT_THAT(SignCertificate(ca, server_without_sans).status().message(), HasSubstr("SAN"));

  SigningRequest bad_san = server_without_sans;
  bad_san.sans = {"ctl.example.com,IP:10.0.0.1"};
  EXPECT_THAT(SignCertificate(ca, bad_san).status().message(),
              HasSubstr("neither an IP address nor a DNS name"));

  SigningRequest client_with_sans = good;
  client_with_sans.sans = {"10.0.0.1"};
  EXPECT_EQ(SignCertificate(ca, client_with_sans).status().code(),
            absl::StatusCode::kInvalidArgument);

  CertificateAuthority mismatched = ca;
  mismatched.key_pem = Ca().key_pem;
  EXPECT_THAT(SignCertificate(mismatched, good).status().message(),
              HasSubstr("CA key does not match"));
}

}  // namespace
}  // namespace ferry::security
