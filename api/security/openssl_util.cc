#include "api/security/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace ferry::security::internal {
namespace {

// Refuses to supply a passphrase. Without a callback OpenSSL would prompt
// on the controlling terminal, which a daemon must never do.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

}  // namespace

absl::Status OpenSslError(absl::string_view what, absl::StatusCode code) {
  std::string text(what);
  const char* separator = ": ";
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&text, separator, buf);
    separator = "; ";
  }
  return absl::Status(code, text);
}

void ClearOpenSslErrors() { ERR_clear_error(); }

absl::StatusOr<BioPtr> ReadOnlyBio(absl::string_view data) {
  if (data.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("PEM input is larger than 2 GiB");
  }
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (bio == nullptr) return OpenSslError("BIO_new_mem_buf");
  return bio;
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return "";
  return std::string(data, static_cast<size_t>(size));
}

EvpPkeyPtr ReadPrivateKey(absl::string_view pem) {
  absl::StatusOr<BioPtr> bio = ReadOnlyBio(pem);
  if (!bio.ok()) return nullptr;
  return EvpPkeyPtr(PEM_read_bio_PrivateKey(bio->get(), nullptr, NoPassphrase, nullptr));
}

X509Ptr ReadCertificate(absl::string_view pem) {
  absl::StatusOr<BioPtr> bio = ReadOnlyBio(pem);
  if (!bio.ok()) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio->get(), nullptr, NoPassphrase, nullptr));
}

X509ReqPtr ReadCertificateRequest(absl::string_view pem) {
  absl::StatusOr<BioPtr> bio = ReadOnlyBio(pem);
  if (!bio.ok()) return nullptr;
  return X509ReqPtr(PEM_read_bio_X509_REQ(bio->get(), nullptr, NoPassphrase, nullptr));
}

std::string NameEntry(const X509_NAME* name, int nid, int* after) {
  const int index = X509_NAME_get_index_by_NID(name, nid, after == nullptr ? -1 : *after);
  if (after != nullptr) *after = index;
  if (index < 0) return "";
  unsigned char* utf8 = nullptr;
  const int size =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
  if (size < 0) return "";
  OpenSslMemoryPtr owned(utf8);
  return std::string(reinterpret_cast<const char*>(utf8), static_cast<size_t>(size));
}

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1 ||
      size != 32) {
    std::fprintf(stderr, "%s\n", OpenSslError("ferry: SHA-256 failed").ToString().c_str());
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

}  // namespace ferry::security::internal
