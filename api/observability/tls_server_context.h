#ifndef FERRY_API_OBSERVABILITY_TLS_SERVER_CONTEXT_H_
#define FERRY_API_OBSERVABILITY_TLS_SERVER_CONTEXT_H_

// The server side of TLS for the HTTP(S) endpoint (/metrics, health, the
// controller's dashboard), over OpenSSL: TLS 1.2 or newer, one certificate
// chain and key given as PEM text (the controller's serving certificate,
// the same one its gRPC listeners present). Clients are not asked for a
// certificate. Each connection is a TlsStream made by TlsStream::Accept.

#include <openssl/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::observability {

class TlsServerContext {
 public:
  // `chain_pem`: the leaf first, then any intermediates and the CA, as
  // ControllerPki::server_chain_pem() holds them. INVALID_ARGUMENT when the
  // chain or the key cannot be parsed or do not belong together.
  static absl::StatusOr<std::unique_ptr<TlsServerContext>> Create(const std::string& chain_pem,
                                                                  const std::string& key_pem);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // Thread-safe once created: each connection makes its own SSL from it.
  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsServerContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// The oldest error on this thread's OpenSSL queue as text, or `fallback`
// when it is empty; clears the queue. For tls_stream.cc too.
std::string OpenSslReason(absl::string_view fallback);

}  // namespace ferry::observability

#endif  // FERRY_API_OBSERVABILITY_TLS_SERVER_CONTEXT_H_
