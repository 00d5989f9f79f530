#ifndef FERRY_API_OBSERVABILITY_HTTP_SERVER_H_
#define FERRY_API_OBSERVABILITY_HTTP_SERVER_H_

// A deliberately small HTTP/1.1 server for /metrics, /healthz, /readyz and
// the controller's read-only dashboard: GET only, one request per
// connection (Connection: close), a thread per connection with a hard cap,
// and bounded request size and read time, so a scraper that misbehaves
// cannot exhaust the controller. With a TlsServerContext it speaks HTTPS
// only. A handler may answer with a stream (Server-Sent Events): those are
// capped in number and in lifetime, and end when the client goes or the
// server stops.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/observability/socket_util.h"
#include "api/observability/tls_server_context.h"

namespace ferry::observability {

struct HttpRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', may be empty
};

// What a streaming handler writes to. Both calls return false once the
// client has gone, the server is stopping or the stream's time is up; the
// handler then returns.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  virtual bool Send(absl::string_view data) = 0;
  // Waits up to `timeout`, watching the client and the server's stop.
  virtual bool Wait(absl::Duration timeout) = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Sent after the standard ones, e.g. {"Cache-Control", "no-store"}.
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, `body` is ignored: the headers go out without a length and
  // `stream` writes the body until it returns (HttpServerOptions bound it).
  std::function<void(ResponseStream&)> stream;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port, [v6]:port or :port
  int max_connections = 64;            // beyond this: 503 and close
  size_t max_request_bytes = size_t{8} * 1024;
  absl::Duration read_timeout = absl::Seconds(5);  // also bounds the TLS handshake
  // Set: HTTPS only (a plaintext request gets a plain 400 saying to use
  // https://). Null: HTTP.
  std::shared_ptr<const TlsServerContext> tls;
  int max_streams = 16;  // streaming responses at once; beyond this: 503
  absl::Duration max_stream_duration = absl::Minutes(10);  // then closed
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // Stops.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Register before Start(). An exact path match ("/metrics").
  void Handle(const std::string& path, HttpHandler handler);

  // Binds, listens and starts the accept thread. INVALID_ARGUMENT names a
  // bad listen address; a bind failure names the address.
  absl::Status Start();

  // The bound port (useful with port 0). 0 before Start().
  int port() const { return port_.load(); }

  // Stops accepting, cuts open connections short and joins every thread.
  // Safe to call twice.
  void Stop();

 private:
  void AcceptLoop();
  class Connection;
  class Stream;
  void ServeConnection(UniqueFd conn);
  HttpResponse Dispatch(const std::string& raw_request);
  // Sends `response`; a streaming one only when a stream slot is free.
  void Respond(Connection& conn, const HttpResponse& response);
  void ReapFinished() ABSL_LOCKS_EXCLUDED(mu_);

  const HttpServerOptions options_;
  std::map<std::string, HttpHandler> handlers_;  // fixed after Start()
  UniqueFd listen_fd_;
  CancelPipe stop_;
  std::atomic<int> port_{0};
  std::thread acceptor_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};

  absl::Mutex mu_;
  std::map<std::thread::id, std::thread> connections_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread::id> finished_ ABSL_GUARDED_BY(mu_);
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  int streams_ ABSL_GUARDED_BY(mu_) = 0;
};

// Serialises a response with Content-Length and Connection: close (for a
// streaming one: its head only, without a length).
std::string FormatHttpResponse(const HttpResponse& response);

// Whether a listen address ("127.0.0.1:9100", "[::1]:0", "localhost:80")
// binds loopback only; false for wildcards and anything unparsable.
bool IsLoopbackListen(absl::string_view listen);

}  // namespace ferry::observability

#endif  // FERRY_API_OBSERVABILITY_HTTP_SERVER_H_
