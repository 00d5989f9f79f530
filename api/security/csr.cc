// Keys and certificate requests: the half of pki.h a requester uses.
// Certificate authorities and signing are in pki.cc, reading certificates
// back in certificate.cc.

#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/security/openssl_util.h"
#include "api/security/pki.h"

namespace ferry::security {
namespace internal {

absl::StatusOr<EvpPkeyPtr> NewP256Key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("key: EVP_EC_gen(P-256)");
  return key;
}

absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* key) {
  return ToPem("key: PEM_write_bio_PrivateKey", [key](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
}

absl::Status AddNameEntry(X509_NAME* name, const char* field, absl::string_view value) {
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return OpenSslError(absl::StrCat("subject: ", field));
  }
  return absl::OkStatus();
}

absl::Status CheckName(absl::string_view what, absl::string_view value) {
  // RFC 5280's upper bound for CN and O (ub-common-name, ub-organization-name).
  constexpr size_t kMaxNameLength = 64;
  if (value.empty() || value.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be 1 to ", kMaxNameLength, " bytes, got ", value.size()));
  }
  return absl::OkStatus();
}

namespace {

absl::Status CheckCsrKey(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char group[80];
      size_t size = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof(group), &size) == 1) {
        const int nid = OBJ_sn2nid(group);
        if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1) return absl::OkStatus();
      }
      break;
    }
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key) >= 2048) return absl::OkStatus();
      break;
  }
  return absl::InvalidArgumentError("csr: key is not ECDSA P-256, ECDSA P-384 or RSA >= 2048");
}

}  // namespace

// A request whose key is acceptable and whose self-signature verifies.
absl::StatusOr<X509ReqPtr> ReadVerifiedCsr(absl::string_view csr_pem) {
  X509ReqPtr req = ReadCertificateRequest(csr_pem);
  if (req == nullptr) return absl::InvalidArgumentError("csr: not a PEM certificate request");
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr) return absl::InvalidArgumentError("csr: no readable public key");
  if (absl::Status s = CheckCsrKey(key); !s.ok()) return s;
  if (X509_REQ_verify(req.get(), key) != 1) return absl::InvalidArgumentError("csr: bad signature");
  return req;
}

}  // namespace internal

using internal::EvpPkeyPtr;
using internal::OpenSslError;
using internal::OpenSslErrorScope;
using internal::ToPem;
using internal::X509ReqPtr;

absl::StatusOr<std::string> GenerateKeyPem() {
  OpenSslErrorScope errors;
  absl::StatusOr<EvpPkeyPtr> key = internal::NewP256Key();
  if (!key.ok()) return key.status();
  return internal::PrivateKeyPem(key->get());
}

absl::StatusOr<std::string> MakeCsrPem(absl::string_view key_pem, absl::string_view common_name) {
  OpenSslErrorScope errors;
  if (absl::Status s = internal::CheckName("csr: common name", common_name); !s.ok()) return s;
  EvpPkeyPtr key = internal::ReadPrivateKey(key_pem);
  if (key == nullptr) {
    return OpenSslError("csr: key is not an unencrypted PEM private key",
                        absl::StatusCode::kInvalidArgument);
  }
  X509ReqPtr req(X509_REQ_new());
  if (req == nullptr) return OpenSslError("csr: X509_REQ_new");
  if (X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) {
    return OpenSslError("csr: X509_REQ_set_version");
  }
  if (absl::Status s =
          internal::AddNameEntry(X509_REQ_get_subject_name(req.get()), "CN", common_name);
      !s.ok()) {
    return s;
  }
  if (X509_REQ_set_pubkey(req.get(), key.get()) != 1) return OpenSslError("csr: set_pubkey");
  if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) return OpenSslError("csr: sign");
  return ToPem("csr: PEM_write_bio_X509_REQ",
               [&req](BIO* bio) { return PEM_write_bio_X509_REQ(bio, req.get()); });
}

absl::StatusOr<CsrInfo> ParseCsrPem(absl::string_view csr_pem) {
  OpenSslErrorScope errors;
  absl::StatusOr<X509ReqPtr> req = internal::ReadVerifiedCsr(csr_pem);
  if (!req.ok()) return req.status();
  CsrInfo info;
  info.common_name = internal::NameEntry(X509_REQ_get_subject_name(req->get()), NID_commonName);
  EVP_PKEY* key = X509_REQ_get0_pubkey(req->get());
  absl::StatusOr<std::string> public_key = ToPem(
      "csr: PEM_write_bio_PUBKEY", [key](BIO* bio) { return PEM_write_bio_PUBKEY(bio, key); });
  if (!public_key.ok()) return public_key.status();
  info.public_key_pem = *std::move(public_key);
  return info;
}

}  // namespace ferry::security
