#ifndef FERRY_API_OBSERVABILITY_HTTP_SERVER_H_
#define FERRY_API_OBSERVABILITY_HTTP_SERVER_H_

// A deliberately small HTTP/1.1 server for /metrics, /healthz and /readyz:
// GET only, one request per connection (Connection: close), a thread per
// connection with a hard cap, and bounded request size and read time, so a
// scraper that misbehaves cannot exhaust the controller.

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/observability/socket_util.h"

namespace ferry::observability {

struct HttpRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', may be empty
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port, [v6]:port or :port
  int max_connections = 64;            // beyond this: 503 and close
  size_t max_request_bytes = size_t{8} * 1024;
  absl::Duration read_timeout = absl::Seconds(5);
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
  void ServeConnection(UniqueFd conn);
  HttpResponse Dispatch(const std::string& raw_request);
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
};

// Serialises a response with Content-Length and Connection: close.
std::string FormatHttpResponse(const HttpResponse& response);

}  // namespace ferry::observability

#endif  // FERRY_API_OBSERVABILITY_HTTP_SERVER_H_
