#include "api/observability/tls_server_context.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"

namespace ferry::observability {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using UniqueBio = std::unique_ptr<BIO, BioFree>;

UniqueBio MemoryBio(const std::string& pem) {
  return UniqueBio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsServerContext>> TlsServerContext::Create(
    const std::string& chain_pem, const std::string& key_pem) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat("TLS: ", OpenSslReason("SSL_CTX_new failed")));
  }
  std::unique_ptr<TlsServerContext> context(new TlsServerContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);

  UniqueBio chain = MemoryBio(chain_pem);
  X509* leaf = chain ? PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr) : nullptr;
  if (leaf == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS serving certificate: no PEM certificate (", OpenSslReason("empty"), ")"));
  }
  int used = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  if (used != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS serving certificate: ", OpenSslReason("refused")));
  }
  // The rest of the chain, so a client that trusts only the CA verifies.
  while (X509* extra = PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      return absl::InvalidArgumentError(
          absl::StrCat("TLS serving certificate chain: ", OpenSslReason("refused")));
    }
  }
  ERR_clear_error();  // the read past the last certificate queues "no start line"

  UniqueBio key_bio = MemoryBio(key_pem);
  EVP_PKEY* key =
      key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS serving key: no PEM private key (", OpenSslReason("empty"), ")"));
  }
  used = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (used != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS serving key does not match the certificate: ", OpenSslReason("mismatch")));
  }
  return context;
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

std::string OpenSslReason(absl::string_view fallback) {
  unsigned long code = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  ERR_clear_error();
  if (code == 0) return std::string(fallback);
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

}  // namespace ferry::observability
