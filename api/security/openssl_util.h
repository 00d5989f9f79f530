#ifndef FERRY_API_SECURITY_OPENSSL_UTIL_H_
#define FERRY_API_SECURITY_OPENSSL_UTIL_H_

// Internal to ferry_security: RAII owners for OpenSSL objects, PEM in and
// out of memory, and OpenSSL's error queue as an absl::Status. Not for use
// outside api/security; the public surface is pki.h and join_token.h.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::security::internal {

// OPENSSL_free is a macro; this gives it an address.
inline void FreeOpenSslMemory(void* p) { OPENSSL_free(p); }

// unique_ptr deleter calling OpenSSL's free function for the type.
template <auto kFree>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};

using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslFree<BN_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslFree<X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslFree<X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslFree<X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslFree<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslFree<X509_STORE_CTX_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpenSslFree<ASN1_INTEGER_free>>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, OpenSslFree<ASN1_OCTET_STRING_free>>;
using Asn1Ia5StringPtr = std::unique_ptr<ASN1_IA5STRING, OpenSslFree<ASN1_IA5STRING_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OpenSslFree<GENERAL_NAME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslFree<GENERAL_NAMES_free>>;
// Memory OpenSSL allocated for us (i2d_*, ASN1_STRING_to_UTF8, BN_bn2hex).
using OpenSslMemoryPtr = std::unique_ptr<void, OpenSslFree<FreeOpenSslMemory>>;

inline void FreeX509Stack(STACK_OF(X509) * certs) { sk_X509_pop_free(certs, X509_free); }
using X509StackPtr = std::unique_ptr<STACK_OF(X509), OpenSslFree<FreeX509Stack>>;

// `what` followed by every entry on this thread's OpenSSL error queue
// (ERR_error_string text), which it empties.
absl::Status OpenSslError(absl::string_view what,
                          absl::StatusCode code = absl::StatusCode::kInternal);

// Empties this thread's OpenSSL error queue, so an error reported later
// is about the call that failed and not a leftover.
void ClearOpenSslErrors();

// Empties the error queue on entry and on exit. Every public function
// holds one: the queue is per thread and shared with gRPC's TLS, whose
// SSL_get_error misreads a leftover entry as its own failure.
class OpenSslErrorScope {
 public:
  OpenSslErrorScope() { ClearOpenSslErrors(); }
  ~OpenSslErrorScope() { ClearOpenSslErrors(); }
  OpenSslErrorScope(const OpenSslErrorScope&) = delete;
  OpenSslErrorScope& operator=(const OpenSslErrorScope&) = delete;
};

// A read-only memory BIO over `data`, which must outlive it.
absl::StatusOr<BioPtr> ReadOnlyBio(absl::string_view data);

// Everything written to a memory BIO.
std::string BioContents(BIO* bio);

// The first object of each kind in `pem`, or nullptr. Never prompts for a
// passphrase: an encrypted key is refused.
EvpPkeyPtr ReadPrivateKey(absl::string_view pem);
X509Ptr ReadCertificate(absl::string_view pem);
X509ReqPtr ReadCertificateRequest(absl::string_view pem);

// PEM text of an object, written by `write` (e.g. PEM_write_bio_X509)
// into a memory BIO.
template <typename Write>
absl::StatusOr<std::string> ToPem(absl::string_view what, Write write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || write(bio.get()) != 1) return OpenSslError(what);
  return BioContents(bio.get());
}

// The first entry of `nid` (NID_commonName, ...) in `name` as UTF-8, or
// "" if there is none; `after` continues a search (X509_NAME's lastpos).
std::string NameEntry(const X509_NAME* name, int nid, int* after = nullptr);

// Shared by csr.cc (which defines them) and pki.cc.

// A new ECDSA P-256 key.
absl::StatusOr<EvpPkeyPtr> NewP256Key();
// PKCS#8 PEM of a private key.
absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* key);
// INVALID_ARGUMENT naming `what` unless 1 to 64 bytes (RFC 5280's bound
// for CN and O).
absl::Status CheckName(absl::string_view what, absl::string_view value);
// Appends `field` ("CN", "O") = `value` as UTF-8.
absl::Status AddNameEntry(X509_NAME* name, const char* field, absl::string_view value);
// A request whose key is ECDSA P-256/P-384 or RSA >= 2048 and whose
// self-signature verifies; INVALID_ARGUMENT "csr: ..." otherwise.
absl::StatusOr<X509ReqPtr> ReadVerifiedCsr(absl::string_view csr_pem);

// Raw SHA-256. Aborts if OpenSSL cannot compute it: a secret compared
// against a failed (empty) hash must never pass.
std::string Sha256(absl::string_view data);

}  // namespace ferry::security::internal

#endif  // FERRY_API_SECURITY_OPENSSL_UTIL_H_
