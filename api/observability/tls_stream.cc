#include "api/observability/tls_stream.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "api/observability/socket_util.h"
#include "api/observability/tls_server_context.h"

namespace ferry::observability {
namespace {

constexpr size_t kChunkBytes = size_t{16} * 1024;

bool IsIpLiteral(const std::string& host) {
  unsigned char addr[16];
  return inet_pton(AF_INET, host.c_str(), addr) == 1 ||
         inet_pton(AF_INET6, host.c_str(), addr) == 1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsClientContext>> TlsClientContext::Create(
    const std::string& ca_file, absl::string_view field) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    return absl::InternalError(absl::StrCat("TLS: ", OpenSslReason("SSL_CTX_new failed")));
  }
  std::unique_ptr<TlsClientContext> context(new TlsClientContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // A receiver that closes without close_notify after answering is common;
  // the HTTP status line, not TLS, says whether the answer was whole.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  if (ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return absl::UnavailableError(absl::StrCat("TLS: cannot load the system's CA certificates: ",
                                                 OpenSslReason("unknown error")));
    }
    return context;
  }
  if (FILE* f = std::fopen(ca_file.c_str(), "r"); f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " ", ca_file, ": cannot read the file; want a PEM CA bundle"));
  } else {
    std::fclose(f);
  }
  if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(field, " ", ca_file,
                                                   ": no usable PEM CA certificate (",
                                                   OpenSslReason("unknown error"), ")"));
  }
  return context;
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

absl::StatusOr<std::unique_ptr<TlsStream>> TlsStream::Connect(const TlsClientContext& context,
                                                              int fd, const std::string& host,
                                                              absl::Time deadline, int cancel_fd) {
  absl::StatusOr<std::unique_ptr<TlsStream>> made = Make(context.get(), fd);
  if (!made.ok()) return made.status();
  std::unique_ptr<TlsStream> stream = *std::move(made);
  SSL* ssl = stream->ssl_;
  SSL_set_connect_state(ssl);

  bool ok = true;
  if (IsIpLiteral(host)) {
    // SNI carries names only (RFC 6066); an IP must be in the cert's SANs.
    ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  } else {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1;
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat("TLS: cannot verify against host \"", host,
                                                   "\": ", OpenSslReason("bad host name")));
  }

  absl::Status handshake = stream->Drive(
      "handshake", [ssl] { return SSL_do_handshake(ssl); }, deadline, cancel_fd);
  if (!handshake.ok()) {
    long verify = SSL_get_verify_result(ssl);  // NOLINT(runtime/int): OpenSSL's type
    if (verify != X509_V_OK) {
      return absl::UnavailableError(absl::StrCat("TLS handshake: server certificate refused for ",
                                                 host, ": ",
                                                 X509_verify_cert_error_string(verify)));
    }
    return handshake;
  }
  return stream;
}

absl::StatusOr<std::unique_ptr<TlsStream>> TlsStream::Make(SSL_CTX* ctx, int fd) {
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (ssl == nullptr || in == nullptr || out == nullptr) {
    SSL_free(ssl);
    BIO_free(in);
    BIO_free(out);
    return absl::InternalError(absl::StrCat("TLS: ", OpenSslReason("out of memory")));
  }
  SSL_set_bio(ssl, in, out);  // ssl owns both from here on
  return std::unique_ptr<TlsStream>(new TlsStream(ssl, in, out, fd));
}

absl::StatusOr<std::unique_ptr<TlsStream>> TlsStream::Accept(const TlsServerContext& context,
                                                             int fd, absl::Time deadline,
                                                             int cancel_fd) {
  absl::StatusOr<std::unique_ptr<TlsStream>> stream = Make(context.get(), fd);
  if (!stream.ok()) return stream.status();
  SSL* ssl = (*stream)->ssl_;
  SSL_set_accept_state(ssl);
  absl::Status handshake = (*stream)->Drive(
      "handshake", [ssl] { return SSL_do_handshake(ssl); }, deadline, cancel_fd);
  if (!handshake.ok()) return handshake;
  return stream;
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

template <typename Op>
absl::Status TlsStream::Drive(absl::string_view what, Op op, absl::Time deadline, int cancel_fd,
                              int* ssl_error) {
  for (;;) {
    ERR_clear_error();
    int rc = op();
    // Whatever OpenSSL produced (handshake records, alerts, data) goes out
    // first, even when the call failed: a fatal alert tells the peer why.
    absl::Status flushed = Flush(deadline, cancel_fd);
    if (rc > 0) return flushed;
    int error = SSL_get_error(ssl_, rc);
    if (error == SSL_ERROR_WANT_READ && flushed.ok()) {
      if (absl::Status filled = Fill(deadline, cancel_fd); !filled.ok()) return filled;
      continue;
    }
    if (error == SSL_ERROR_WANT_WRITE && flushed.ok()) continue;
    if (ssl_error != nullptr) *ssl_error = error;
    if (!flushed.ok()) return flushed;
    std::string reason = error == SSL_ERROR_ZERO_RETURN || error == SSL_ERROR_SYSCALL
                             ? OpenSslReason("the peer closed the connection")
                             : OpenSslReason(absl::StrCat("SSL error ", error));
    return absl::UnavailableError(absl::StrCat("TLS ", what, ": ", reason));
  }
}

absl::Status TlsStream::Flush(absl::Time deadline, int cancel_fd) {
  char buf[kChunkBytes];
  while (BIO_ctrl_pending(out_) > 0) {
    int n = BIO_read(out_, buf, sizeof(buf));
    if (n <= 0) break;
    absl::Status sent = observability::SendAll(fd_, absl::string_view(buf, n), deadline, cancel_fd);
    if (!sent.ok()) return sent;
  }
  return absl::OkStatus();
}

absl::Status TlsStream::Fill(absl::Time deadline, int cancel_fd) {
  std::string data;
  absl::StatusOr<size_t> n =
      observability::ReceiveSome(fd_, &data, kChunkBytes, deadline, cancel_fd);
  if (!n.ok()) return n.status();
  if (*n == 0) {
    // The socket is at EOF: let OpenSSL see it instead of "try again".
    BIO_set_mem_eof_return(in_, 0);
    return absl::OkStatus();
  }
  if (BIO_write(in_, data.data(), static_cast<int>(data.size())) != static_cast<int>(data.size())) {
    return absl::InternalError("TLS: cannot buffer received bytes");
  }
  return absl::OkStatus();
}

absl::Status TlsStream::SendAll(absl::string_view data, absl::Time deadline, int cancel_fd) {
  while (!data.empty()) {
    size_t written = 0;
    absl::Status status = Drive(
        "write", [&] { return SSL_write_ex(ssl_, data.data(), data.size(), &written); }, deadline,
        cancel_fd);
    if (!status.ok()) return status;
    data.remove_prefix(written);
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> TlsStream::ReceiveSome(std::string* out, size_t max_bytes,
                                              absl::Time deadline, int cancel_fd) {
  char buf[kChunkBytes];
  size_t got = 0;
  int error = SSL_ERROR_NONE;
  absl::Status status = Drive(
      "read", [&] { return SSL_read_ex(ssl_, buf, std::min(sizeof(buf), max_bytes), &got); },
      deadline, cancel_fd, &error);
  if (!status.ok()) {
    if (error == SSL_ERROR_ZERO_RETURN) return 0;
    return status;
  }
  out->append(buf, got);
  return got;
}

}  // namespace ferry::observability
