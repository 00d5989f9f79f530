#ifndef FERRY_API_OBSERVABILITY_TLS_STREAM_H_
#define FERRY_API_OBSERVABILITY_TLS_STREAM_H_

// TLS over OpenSSL: the client side for https webhooks, and the server
// side of the HTTP(S) endpoint (Accept, with a TlsServerContext).
//
// TlsClientContext holds the settings every connection shares: TLS 1.2 or
// newer, the peer verified against the system's trust store (OpenSSL's
// default paths, which honour SSL_CERT_FILE/SSL_CERT_DIR) or a given CA
// file. TlsStream is one connection. It speaks to OpenSSL through memory
// BIOs and moves the bytes itself with socket_util's send/recv, so every
// wait is bounded by the caller's deadline and cancel fd, and a peer that
// hangs up can never raise SIGPIPE in the controller.

#include <openssl/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ferry::observability {

class TlsClientContext {
 public:
  // `ca_file` empty: the system's trust store. Otherwise only the PEM
  // certificates in `ca_file` are trusted; INVALID_ARGUMENT names `field`
  // and the file when it cannot be read or holds no certificate.
  static absl::StatusOr<std::unique_ptr<TlsClientContext>> Create(const std::string& ca_file,
                                                                  absl::string_view field);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  // Thread-safe once created: each connection makes its own SSL from it.
  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsClientContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

class TlsServerContext;

class TlsStream {
 public:
  // Handshakes over `fd`, a connected non-blocking socket that the caller
  // keeps open for the stream's lifetime. `host` (a DNS name or an IP
  // literal) is sent as SNI when it is a name, and the server certificate
  // must be valid for it. Errors are UNAVAILABLE and say why (for a
  // refused certificate, OpenSSL's verify reason), or DEADLINE_EXCEEDED /
  // CANCELLED as for WaitFd.
  static absl::StatusOr<std::unique_ptr<TlsStream>> Connect(const TlsClientContext& context, int fd,
                                                            const std::string& host,
                                                            absl::Time deadline, int cancel_fd);
  // Completes the server side of a handshake over `fd`, an accepted
  // non-blocking socket the caller keeps open. Errors as for Connect.
  static absl::StatusOr<std::unique_ptr<TlsStream>> Accept(const TlsServerContext& context, int fd,
                                                           absl::Time deadline, int cancel_fd);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Encrypts and sends all of `data`.
  absl::Status SendAll(absl::string_view data, absl::Time deadline, int cancel_fd);

  // Appends up to `max_bytes` of plaintext to `out`; 0 once the peer has
  // closed (with or without close_notify: the caller's HTTP framing, not
  // TLS, tells a whole response from a cut one).
  absl::StatusOr<size_t> ReceiveSome(std::string* out, size_t max_bytes, absl::Time deadline,
                                     int cancel_fd);

 private:
  TlsStream(SSL* ssl, BIO* in, BIO* out, int fd) : ssl_(ssl), in_(in), out_(out), fd_(fd) {}
  // An SSL from `ctx` over memory BIOs for `fd`; INTERNAL when out of memory.
  static absl::StatusOr<std::unique_ptr<TlsStream>> Make(SSL_CTX* ctx, int fd);

  // Runs `op` (an SSL call returning > 0 on success) until it succeeds,
  // moving ciphertext between the socket and the memory BIOs. Returns the
  // SSL_get_error code of a failure through `ssl_error`, or an error.
  template <typename Op>
  absl::Status Drive(absl::string_view what, Op op, absl::Time deadline, int cancel_fd,
                     int* ssl_error = nullptr);
  absl::Status Flush(absl::Time deadline, int cancel_fd);
  absl::Status Fill(absl::Time deadline, int cancel_fd);

  SSL* ssl_;
  BIO* in_;   // owned by ssl_: ciphertext received, for OpenSSL to read
  BIO* out_;  // owned by ssl_: ciphertext OpenSSL wrote, to be sent
  int fd_;
};

}  // namespace ferry::observability

#endif  // FERRY_API_OBSERVABILITY_TLS_STREAM_H_
