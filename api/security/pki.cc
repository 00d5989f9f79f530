// Certificate authorities and signing: the half of pki.h a CA uses. Keys
// and requests are in csr.cc, reading certificates back in certificate.cc.

#include "api/security/pki.h"

#include <arpa/inet.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/security/openssl_util.h"

namespace ferry::security {
namespace {

using internal::Asn1IntegerPtr;
using internal::Asn1OctetStringPtr;
using internal::BignumPtr;
using internal::EvpPkeyPtr;
using internal::GeneralNamePtr;
using internal::GeneralNamesPtr;
using internal::OpenSslError;
using internal::OpenSslErrorScope;
using internal::ToPem;
using internal::X509ExtensionPtr;
using internal::X509Ptr;
using internal::X509ReqPtr;

// Before "now", so a peer whose clock is a little behind accepts it.
constexpr absl::Duration kClockSkew = absl::Hours(1);

absl::Status SetRandomSerial(X509* cert) {
  // 128 random bits: unguessable, so nobody can aim a collision at a serial.
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return OpenSslError("serial: RAND_bytes");
  BignumPtr number(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (number == nullptr) return OpenSslError("serial: BN_bin2bn");
  if (BN_is_zero(number.get())) return absl::InternalError("serial: CSPRNG returned zero");
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(number.get(), nullptr));
  if (serial == nullptr || X509_set_serialNumber(cert, serial.get()) != 1) {
    return OpenSslError("serial: X509_set_serialNumber");
  }
  return absl::OkStatus();
}

// Version 3, random serial, validity from now - kClockSkew to now + validity.
absl::Status SetBasics(X509* cert, absl::Duration validity) {
  if (validity <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("validity must be positive, got ", absl::FormatDuration(validity)));
  }
  if (X509_set_version(cert, X509_VERSION_3) != 1) return OpenSslError("X509_set_version");
  if (absl::Status s = SetRandomSerial(cert); !s.ok()) return s;
  const absl::Time now = absl::Now();
  if (ASN1_TIME_set(X509_getm_notBefore(cert), absl::ToTimeT(now - kClockSkew)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), absl::ToTimeT(now + validity)) == nullptr) {
    return OpenSslError("validity: ASN1_TIME_set");
  }
  return absl::OkStatus();
}

// An extension in openssl.cnf syntax ("critical,CA:TRUE"); `issuer` is the
// signer, for the authority key identifier.
absl::Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(absl::StrCat("extension ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

bool IsDnsName(absl::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.' ||
      absl::StrContains(name, "..")) {
    return false;
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '.' && c != '_' && c != '*') return false;
  }
  return true;
}

// subjectAltName built as structures, not as "IP:a,DNS:b" text, so a SAN
// can never smuggle in a second entry.
absl::Status AddSubjectAltNames(X509* cert, const std::vector<std::string>& sans) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (names == nullptr) return OpenSslError("subjectAltName: GENERAL_NAMES_new");
  for (const std::string& san : sans) {
    GeneralNamePtr name(GENERAL_NAME_new());
    if (name == nullptr) return OpenSslError("subjectAltName: GENERAL_NAME_new");
    unsigned char ip[16];
    int ip_size = 0;
    if (inet_pton(AF_INET, san.c_str(), ip) == 1) {
      ip_size = 4;
    } else if (inet_pton(AF_INET6, san.c_str(), ip) == 1) {
      ip_size = 16;
    }
    if (ip_size > 0) {
      Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
      if (value == nullptr || ASN1_OCTET_STRING_set(value.get(), ip, ip_size) != 1) {
        return OpenSslError("subjectAltName: IP");
      }
      GENERAL_NAME_set0_value(name.get(), GEN_IPADD, value.release());
    } else if (IsDnsName(san)) {
      internal::Asn1Ia5StringPtr value(ASN1_IA5STRING_new());
      if (value == nullptr ||
          ASN1_STRING_set(value.get(), san.data(), static_cast<int>(san.size())) != 1) {
        return OpenSslError("subjectAltName: DNS");
      }
      GENERAL_NAME_set0_value(name.get(), GEN_DNS, value.release());
    } else {
      return absl::InvalidArgumentError(absl::StrCat("sans: \"", absl::CEscape(san),
                                                     "\" is neither an IP address nor a DNS name"));
    }
    if (sk_GENERAL_NAME_push(names.get(), name.get()) <= 0) {
      return OpenSslError("subjectAltName: push");
    }
    static_cast<void>(name.release());  // Now owned by `names`.
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return OpenSslError("subjectAltName: X509_add1_ext_i2d");
  }
  return absl::OkStatus();
}

absl::Status CheckSigningRequest(const SigningRequest& request) {
  if (absl::Status s = internal::CheckName("sign: common_name", request.common_name); !s.ok())
    return s;
  if (!request.role.empty()) {
    absl::Status s = internal::CheckName("sign: O \"ferry:<role>\"", kRoleOrgPrefix + request.role);
    if (!s.ok()) return s;
  }
  if (request.server && request.sans.empty()) {
    return absl::InvalidArgumentError(
        "sign: a serving certificate needs at least one SAN (IP address or DNS name)");
  }
  if (!request.server && !request.sans.empty()) {
    return absl::InvalidArgumentError(
        "sign: sans are for serving certificates; set server = true or leave sans empty");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CertificateAuthority> CreateCertificateAuthority(absl::string_view common_name,
                                                                absl::Duration validity) {
  OpenSslErrorScope errors;
  if (absl::Status s = internal::CheckName("ca: common name", common_name); !s.ok()) return s;
  absl::StatusOr<EvpPkeyPtr> key = internal::NewP256Key();
  if (!key.ok()) return key.status();
  X509Ptr cert(X509_new());
  if (cert == nullptr) return OpenSslError("ca: X509_new");
  X509* x = cert.get();
  if (absl::Status s = SetBasics(x, validity); !s.ok()) return s;
  if (absl::Status s = internal::AddNameEntry(X509_get_subject_name(x), "CN", common_name);
      !s.ok()) {
    return s;
  }
  if (X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
      X509_set_pubkey(x, key->get()) != 1) {
    return OpenSslError("ca: issuer and key");
  }
  // pathlen 0: this CA signs leaves only, never another CA.
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (absl::Status s = AddExtension(x, x, nid, value); !s.ok()) return s;
  }
  if (X509_sign(x, key->get(), EVP_sha256()) <= 0) return OpenSslError("ca: X509_sign");
  CertificateAuthority ca;
  absl::StatusOr<std::string> cert_pem =
      ToPem("ca: PEM_write_bio_X509", [x](BIO* bio) { return PEM_write_bio_X509(bio, x); });
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = internal::PrivateKeyPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  ca.cert_pem = *std::move(cert_pem);
  ca.key_pem = *std::move(key_pem);
  return ca;
}

absl::StatusOr<std::string> SignCertificate(const CertificateAuthority& ca,
                                            const SigningRequest& request) {
  OpenSslErrorScope errors;
  if (absl::Status s = CheckSigningRequest(request); !s.ok()) return s;
  X509Ptr ca_cert = internal::ReadCertificate(ca.cert_pem);
  if (ca_cert == nullptr) return absl::InvalidArgumentError("sign: CA certificate is not PEM");
  EvpPkeyPtr ca_key = internal::ReadPrivateKey(ca.key_pem);
  if (ca_key == nullptr) {
    return absl::InvalidArgumentError("sign: CA key is not an unencrypted PEM private key");
  }
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
    return absl::InvalidArgumentError("sign: CA key does not match the CA certificate");
  }
  if (X509_check_ca(ca_cert.get()) == 0) {
    return absl::InvalidArgumentError("sign: CA certificate lacks basicConstraints CA:TRUE");
  }
  absl::StatusOr<X509ReqPtr> req = internal::ReadVerifiedCsr(request.csr_pem);
  if (!req.ok()) return req.status();
  EVP_PKEY* subject_key = X509_REQ_get0_pubkey(req->get());

  X509Ptr cert(X509_new());
  if (cert == nullptr) return OpenSslError("sign: X509_new");
  X509* x = cert.get();
  if (absl::Status s = SetBasics(x, request.validity); !s.ok()) return s;
  // The subject comes from the request, never from the CSR's own subject.
  X509_NAME* subject = X509_get_subject_name(x);
  if (!request.role.empty()) {
    absl::Status s = internal::AddNameEntry(subject, "O", kRoleOrgPrefix + request.role);
    if (!s.ok()) return s;
  }
  if (absl::Status s = internal::AddNameEntry(subject, "CN", request.common_name); !s.ok())
    return s;
  if (X509_set_issuer_name(x, X509_get_subject_name(ca_cert.get())) != 1 ||
      X509_set_pubkey(x, subject_key) != 1) {
    return OpenSslError("sign: issuer and key");
  }
  // keyEncipherment only means something for RSA key transport.
  const bool rsa = EVP_PKEY_get_base_id(subject_key) == EVP_PKEY_RSA;
  std::vector<std::pair<int, const char*>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage,
       rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature"},
      {NID_ext_key_usage, request.server ? "serverAuth" : "clientAuth"},
      {NID_subject_key_identifier, "hash"}};
  // A CA from elsewhere (--client-ca) may have no key identifier to point at.
  if (X509_get0_subject_key_id(ca_cert.get()) != nullptr) {
    extensions.push_back({NID_authority_key_identifier, "keyid:always"});
  }
  for (auto [nid, value] : extensions) {
    if (absl::Status s = AddExtension(x, ca_cert.get(), nid, value); !s.ok()) return s;
  }
  if (request.server) {
    if (absl::Status s = AddSubjectAltNames(x, request.sans); !s.ok()) return s;
  }
  if (X509_sign(x, ca_key.get(), EVP_sha256()) <= 0) return OpenSslError("sign: X509_sign");
  return ToPem("sign: PEM_write_bio_X509", [x](BIO* bio) { return PEM_write_bio_X509(bio, x); });
}

}  // namespace ferry::security
