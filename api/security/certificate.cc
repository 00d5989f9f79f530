// Reading certificates back and verifying them (the rest of pki.h; making
// them is in pki.cc).

#include <arpa/inet.h>
#include <openssl/pem.h>

#include <ctime>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/security/join_token.h"
#include "api/security/openssl_util.h"
#include "api/security/pki.h"

namespace ferry::security {
namespace {

using internal::BignumPtr;
using internal::EvpPkeyPtr;
using internal::GeneralNamesPtr;
using internal::OpenSslError;
using internal::OpenSslErrorScope;
using internal::OpenSslMemoryPtr;
using internal::X509Ptr;

constexpr absl::string_view kBegin = "-----BEGIN CERTIFICATE-----";
constexpr absl::string_view kEnd = "-----END CERTIFICATE-----";

absl::Status NotACertificate(absl::string_view what,
                             absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  return absl::Status(code, absl::StrCat(what, ": not a PEM certificate"));
}

absl::StatusOr<absl::Time> ToTime(const ASN1_TIME* time) {
  struct tm tm = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return OpenSslError("ASN1_TIME_to_tm");
  return absl::FromTM(tm, absl::UTCTimeZone());
}

std::string SerialHex(const X509* cert) {
  BignumPtr number(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (number == nullptr) return "";
  char* hex = BN_bn2hex(number.get());
  if (hex == nullptr) return "";
  OpenSslMemoryPtr owned(hex);
  // BN_bn2hex writes whole bytes in upper case ("0A"); we want "a".
  std::string text = absl::AsciiStrToLower(hex);
  const size_t first = text.find_first_not_of('0');
  return first == std::string::npos ? "0" : text.substr(first);
}

std::vector<std::string> SubjectAltNames(const X509* cert) {
  std::vector<std::string> sans;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names == nullptr) return sans;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                        ASN1_STRING_length(dns));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      if (ASN1_STRING_length(ip) != 4 && ASN1_STRING_length(ip) != 16) continue;
      char text[INET6_ADDRSTRLEN];
      if (inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof(text)) != nullptr) {
        sans.emplace_back(text);
      }
    }
  }
  return sans;
}

// The role from the first O of the form "ferry:<role>".
std::string Role(const X509_NAME* subject) {
  int index = -1;
  while (true) {
    const std::string org = internal::NameEntry(subject, NID_organizationName, &index);
    if (index < 0) return "";
    if (absl::StartsWith(org, kRoleOrgPrefix)) return org.substr(sizeof(kRoleOrgPrefix) - 1);
  }
}

// Hashes the SubjectPublicKeyInfo exactly as encoded in the certificate,
// as kubeadm's discovery hash and Go's RawSubjectPublicKeyInfo do.
absl::StatusOr<std::string> SpkiSha256(const X509* cert) {
  unsigned char* der = nullptr;
  const int size = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (size <= 0) return OpenSslError("certificate: i2d_X509_PUBKEY");
  OpenSslMemoryPtr owned(der);
  return HexEncode(internal::Sha256(
      absl::string_view(reinterpret_cast<const char*>(der), static_cast<size_t>(size))));
}

std::string Describe(const X509* cert) {
  return absl::StrCat(
      "certificate CN=\"",
      absl::CEscape(internal::NameEntry(X509_get_subject_name(cert), NID_commonName)), "\"");
}

}  // namespace

absl::StatusOr<CertificateInfo> ParseCertificatePem(absl::string_view cert_pem) {
  OpenSslErrorScope errors;
  X509Ptr cert = internal::ReadCertificate(cert_pem);
  if (cert == nullptr) return NotACertificate("certificate");
  CertificateInfo info;
  info.serial = SerialHex(cert.get());
  info.common_name = internal::NameEntry(X509_get_subject_name(cert.get()), NID_commonName);
  info.role = Role(X509_get_subject_name(cert.get()));
  absl::StatusOr<absl::Time> not_before = ToTime(X509_get0_notBefore(cert.get()));
  if (!not_before.ok()) return not_before.status();
  absl::StatusOr<absl::Time> not_after = ToTime(X509_get0_notAfter(cert.get()));
  if (!not_after.ok()) return not_after.status();
  info.not_before = *not_before;
  info.not_after = *not_after;
  info.sans = SubjectAltNames(cert.get());
  absl::StatusOr<std::string> spki = SpkiSha256(cert.get());
  if (!spki.ok()) return spki.status();
  info.spki_sha256 = *std::move(spki);
  return info;
}

absl::Status VerifyCertificate(absl::string_view cert_pem, absl::string_view ca_cert_pem,
                               absl::Time now) {
  OpenSslErrorScope errors;
  // The first certificate is the one verified; any after it are untrusted
  // intermediates that may help build the chain.
  const std::vector<std::string> chain = SplitPemCertificates(cert_pem);
  X509Ptr cert = chain.empty() ? nullptr : internal::ReadCertificate(chain[0]);
  if (cert == nullptr) return NotACertificate("certificate", absl::StatusCode::kUnauthenticated);
  internal::X509StackPtr untrusted(sk_X509_new_null());
  if (untrusted == nullptr) return OpenSslError("verify: sk_X509_new_null");
  for (size_t i = 1; i < chain.size(); ++i) {
    X509Ptr intermediate = internal::ReadCertificate(chain[i]);
    if (intermediate == nullptr) {
      return NotACertificate(absl::StrCat("certificate chain entry ", i + 1),
                             absl::StatusCode::kUnauthenticated);
    }
    if (sk_X509_push(untrusted.get(), intermediate.get()) <= 0) {
      return OpenSslError("verify: sk_X509_push");
    }
    static_cast<void>(intermediate.release());  // Now owned by `untrusted`.
  }

  internal::X509StorePtr store(X509_STORE_new());
  if (store == nullptr) return OpenSslError("verify: X509_STORE_new");
  // Every certificate in the CA bundle is trusted (a CA being rotated).
  const std::vector<std::string> cas = SplitPemCertificates(ca_cert_pem);
  if (cas.empty()) return NotACertificate("CA certificate");
  for (const std::string& pem : cas) {
    X509Ptr ca = internal::ReadCertificate(pem);
    if (ca == nullptr) return NotACertificate("CA certificate");
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1) {
      return OpenSslError("verify: X509_STORE_add_cert");
    }
  }

  internal::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (ctx == nullptr ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), untrusted.get()) != 1) {
    return OpenSslError("verify: X509_STORE_CTX_init");
  }
  // Sets X509_V_FLAG_USE_CHECK_TIME: validity is judged at `now`, not at
  // the wall clock, so callers (and tests) decide the instant.
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), absl::ToTimeT(now));
  if (X509_verify_cert(ctx.get()) == 1) return absl::OkStatus();
  const int error = X509_STORE_CTX_get_error(ctx.get());
  if (error == X509_V_OK) return OpenSslError("verify: X509_verify_cert");
  const X509* failed = X509_STORE_CTX_get_current_cert(ctx.get());
  std::string text = absl::StrCat(Describe(failed != nullptr ? failed : cert.get()), ": ",
                                  X509_verify_cert_error_string(error));
  if (error == X509_V_ERR_CERT_HAS_EXPIRED || error == X509_V_ERR_CERT_NOT_YET_VALID) {
    absl::StatusOr<CertificateInfo> info = ParseCertificatePem(chain[0]);
    if (info.ok()) {
      absl::StrAppend(&text, " (valid ", absl::FormatTime(info->not_before), " to ",
                      absl::FormatTime(info->not_after), ", checked at ", absl::FormatTime(now),
                      ")");
    }
  }
  return absl::UnauthenticatedError(text);
}

absl::Status CheckKeyMatchesCertificate(absl::string_view key_pem, absl::string_view cert_pem) {
  OpenSslErrorScope errors;
  EvpPkeyPtr key = internal::ReadPrivateKey(key_pem);
  if (key == nullptr) {
    return absl::InvalidArgumentError("key: not an unencrypted PEM private key");
  }
  X509Ptr cert = internal::ReadCertificate(cert_pem);
  if (cert == nullptr) return NotACertificate("certificate");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("key does not match the public key of ", Describe(cert.get())));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SpkiSha256Hex(absl::string_view cert_pem) {
  OpenSslErrorScope errors;
  X509Ptr cert = internal::ReadCertificate(cert_pem);
  if (cert == nullptr) return NotACertificate("certificate");
  return SpkiSha256(cert.get());
}

std::vector<std::string> SplitPemCertificates(absl::string_view pem_bundle) {
  std::vector<std::string> certs;
  size_t pos = 0;
  while (true) {
    const size_t begin = pem_bundle.find(kBegin, pos);
    if (begin == absl::string_view::npos) break;
    const size_t end = pem_bundle.find(kEnd, begin + kBegin.size());
    if (end == absl::string_view::npos) break;  // Truncated: not a certificate.
    pos = end + kEnd.size();
    certs.push_back(absl::StrCat(pem_bundle.substr(begin, pos - begin), "\n"));
  }
  return certs;
}

}  // namespace ferry::security
