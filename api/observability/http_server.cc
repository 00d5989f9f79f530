#include "api/observability/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "api/lib/log.h"
#include "api/observability/tls_stream.h"

namespace ferry::observability {
namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return status < 400 ? "OK" : "Error";
  }
}

HttpResponse TextResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// Best effort: the peer gets a status line instead of a bare reset.
void SendBrief(int fd, const HttpResponse& response) {
  (void)SendAll(fd, FormatHttpResponse(response), absl::Now() + absl::Milliseconds(100), -1);
}

}  // namespace

std::string FormatHttpResponse(const HttpResponse& response) {
  std::string out = absl::StrCat("HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status),
                                 "\r\nContent-Type: ", response.content_type);
  if (!response.stream) absl::StrAppend(&out, "\r\nContent-Length: ", response.body.size());
  out += "\r\nConnection: close\r\n";
  if (response.status == 405) out += "Allow: GET\r\n";
  for (const auto& [name, value] : response.headers)
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  out += "\r\n";
  if (!response.stream) out += response.body;
  return out;
}

bool IsLoopbackListen(absl::string_view listen) {
  absl::StatusOr<HostPort> hp = ParseHostPort(listen, "listen address");
  if (!hp.ok()) return false;
  if (hp->host == "localhost" || hp->host == "::1") return true;
  in_addr v4 = {};
  return inet_pton(AF_INET, hp->host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

// One accepted connection, plain or TLS; every wait is bounded by the
// caller's deadline and the server's stop pipe.
class HttpServer::Connection {
 public:
  explicit Connection(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }

  // The server side of the handshake; a plaintext request instead gets a
  // plaintext 400 that says to use https.
  absl::Status AcceptTls(const TlsServerContext& context, absl::Time deadline, int cancel_fd) {
    if (absl::Status ready = WaitFd(fd_.get(), POLLIN, deadline, cancel_fd); !ready.ok()) {
      return ready;
    }
    unsigned char first = 0;
    if (recv(fd_.get(), &first, 1, MSG_PEEK) == 1 && first != kTlsHandshakeRecord) {
      SendBrief(fd_.get(), TextResponse(400, "this endpoint speaks HTTPS only: use https://\n"));
      return absl::InvalidArgumentError("plaintext request on the HTTPS endpoint");
    }
    absl::StatusOr<std::unique_ptr<TlsStream>> tls =
        TlsStream::Accept(context, fd_.get(), deadline, cancel_fd);
    if (!tls.ok()) return tls.status();
    tls_ = *std::move(tls);
    return absl::OkStatus();
  }

  absl::Status Send(absl::string_view data, absl::Time deadline, int cancel_fd) {
    if (tls_ != nullptr) return tls_->SendAll(data, deadline, cancel_fd);
    return SendAll(fd_.get(), data, deadline, cancel_fd);
  }

  absl::StatusOr<size_t> Receive(std::string* out, size_t max_bytes, absl::Time deadline,
                                 int cancel_fd) {
    if (tls_ != nullptr) return tls_->ReceiveSome(out, max_bytes, deadline, cancel_fd);
    return ReceiveSome(fd_.get(), out, max_bytes, deadline, cancel_fd);
  }

 private:
  static constexpr unsigned char kTlsHandshakeRecord = 0x16;
  UniqueFd fd_;
  std::unique_ptr<TlsStream> tls_;  // destroyed before fd_ is closed
};

// A streaming response's body: ends with the client, the server or its
// time.
class HttpServer::Stream : public ResponseStream {
 public:
  Stream(Connection* conn, absl::Duration write_timeout, absl::Time end, int cancel_fd)
      : conn_(conn), write_timeout_(write_timeout), end_(end), cancel_fd_(cancel_fd) {}

  bool Send(absl::string_view data) override {
    if (!open_ || absl::Now() >= end_) return open_ = false;
    open_ = conn_->Send(data, std::min(end_, absl::Now() + write_timeout_), cancel_fd_).ok();
    return open_;
  }

  bool Wait(absl::Duration timeout) override {
    const absl::Time until = std::min(end_, absl::Now() + timeout);
    while (open_) {
      absl::Status ready = WaitFd(conn_->fd(), POLLIN, until, cancel_fd_);
      if (absl::IsDeadlineExceeded(ready)) return open_ = until < end_;
      if (!ready.ok()) return open_ = false;
      // A client of an event stream sends nothing more: this is its close
      // (or bytes to drop).
      std::string dropped;
      absl::StatusOr<size_t> n =
          conn_->Receive(&dropped, 4096, absl::Now() + absl::Milliseconds(100), cancel_fd_);
      if ((n.ok() && *n == 0) || (!n.ok() && !absl::IsDeadlineExceeded(n.status()))) {
        open_ = false;
      }
    }
    return false;
  }

 private:
  Connection* conn_;
  const absl::Duration write_timeout_;
  const absl::Time end_;
  const int cancel_fd_;
  bool open_ = true;
};

HttpServer::HttpServer(HttpServerOptions options) : options_(std::move(options)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(const std::string& path, HttpHandler handler) {
  handlers_[path] = std::move(handler);
}

absl::Status HttpServer::Start() {
  if (stopped_.load() || started_.exchange(true)) {
    return absl::FailedPreconditionError("http server already started or stopped");
  }
  absl::StatusOr<HostPort> hp = ParseHostPort(options_.listen, "listen address");
  if (!hp.ok()) return hp.status();

  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port_text = absl::StrCat(hp->port);
  int gai =
      getaddrinfo(hp->host.empty() ? nullptr : hp->host.c_str(), port_text.c_str(), &hints, &found);
  if (gai != 0) {
    return absl::InvalidArgumentError(absl::StrCat("listen address \"", options_.listen,
                                                   "\" does not resolve: ", gai_strerror(gai)));
  }
  UniqueFd fd(socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  absl::Status status;
  int one = 1;
  if (!fd.valid()) {
    status = ErrnoStatus("socket", errno);
  } else if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    status = ErrnoStatus("setsockopt(SO_REUSEADDR)", errno);
  } else if (bind(fd.get(), found->ai_addr, found->ai_addrlen) != 0) {
    status = ErrnoStatus(absl::StrCat("bind ", options_.listen), errno);
  } else if (listen(fd.get(), 128) != 0) {
    status = ErrnoStatus(absl::StrCat("listen ", options_.listen), errno);
  }
  freeaddrinfo(found);
  if (!status.ok()) return status;

  sockaddr_storage bound = {};
  socklen_t len = sizeof(bound);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    return ErrnoStatus("getsockname", errno);
  }
  port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (absl::Status s = stop_.Open(); !s.ok()) return s;
  listen_fd_ = std::move(fd);
  acceptor_ = std::thread([this] { AcceptLoop(); });
  LogInfo("http server listening", {{"listen", options_.listen},
                                    {"port", absl::StrCat(port_.load())},
                                    {"scheme", options_.tls != nullptr ? "https" : "http"}});
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (stopped_.exchange(true)) return;
  stop_.Signal();
  if (acceptor_.joinable()) acceptor_.join();
  std::map<std::thread::id, std::thread> connections;
  {
    absl::MutexLock lock(&mu_);
    connections.swap(connections_);
    finished_.clear();
  }
  // Each connection polls the stop pipe too, so these joins are prompt.
  for (auto& [id, thread] : connections) thread.join();
  listen_fd_.Reset();
}

void HttpServer::AcceptLoop() {
  for (;;) {
    absl::Status ready = WaitFd(listen_fd_.get(), POLLIN, absl::InfiniteFuture(), stop_.read_fd());
    if (!ready.ok()) return;  // CANCELLED by Stop(), or poll itself failed.
    int fd = accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) continue;
      LogWarning("http accept failed", {{"error", ErrnoStatus("accept", errno).ToString()}});
      // Out of fds: back off instead of spinning, but still honour Stop().
      (void)WaitFd(stop_.read_fd(), POLLIN, absl::Now() + absl::Milliseconds(100), -1);
      continue;
    }
    UniqueFd conn(fd);
    ReapFinished();
    bool full;
    {
      absl::MutexLock lock(&mu_);
      full = active_ >= options_.max_connections;
    }
    if (full) {
      SendBrief(conn.get(), TextResponse(503, "too many connections\n"));
      continue;
    }
    // Only this thread adds connections, so the count cannot have grown.
    absl::MutexLock lock(&mu_);
    ++active_;
    // Holding mu_ while inserting means the thread cannot report itself
    // finished before it is in connections_.
    std::thread thread([this, c = std::move(conn)]() mutable { ServeConnection(std::move(c)); });
    std::thread::id id = thread.get_id();
    connections_.emplace(id, std::move(thread));
  }
}

void HttpServer::ReapFinished() {
  std::vector<std::thread> done;
  {
    absl::MutexLock lock(&mu_);
    for (std::thread::id id : finished_) {
      auto it = connections_.find(id);
      if (it == connections_.end()) continue;
      done.push_back(std::move(it->second));
      connections_.erase(it);
    }
    finished_.clear();
  }
  for (std::thread& thread : done) thread.join();
}

void HttpServer::ServeConnection(UniqueFd fd) {
  const absl::Time deadline = absl::Now() + options_.read_timeout;
  Connection conn(std::move(fd));
  std::string request;
  std::optional<HttpResponse> response;
  bool open = true;
  if (options_.tls != nullptr) {
    absl::Status handshake = conn.AcceptTls(*options_.tls, deadline, stop_.read_fd());
    if (!handshake.ok()) {
      LogDebug("https handshake failed", {{"error", std::string(handshake.message())}});
      open = false;
    }
  }
  while (open && !response.has_value() && request.find("\r\n\r\n") == std::string::npos) {
    if (request.size() > options_.max_request_bytes) {
      response = TextResponse(431, "request too large\n");
      break;
    }
    // One byte beyond the limit is enough to know it was exceeded.
    absl::StatusOr<size_t> n = conn.Receive(
        &request, options_.max_request_bytes + 1 - request.size(), deadline, stop_.read_fd());
    if (!n.ok()) {
      if (absl::IsDeadlineExceeded(n.status())) {
        response = TextResponse(408, "request timeout\n");
      }
      break;
    }
    if (*n == 0) break;  // Peer closed before a full request.
  }
  if (!response.has_value() && request.find("\r\n\r\n") != std::string::npos) {
    response = request.find("\r\n\r\n") + 4 > options_.max_request_bytes
                   ? TextResponse(431, "request too large\n")
                   : Dispatch(request);
  }
  if (response.has_value()) {
    Respond(conn, *response);
    shutdown(conn.fd(), SHUT_WR);
  }
  absl::MutexLock lock(&mu_);
  --active_;
  finished_.push_back(std::this_thread::get_id());
}

void HttpServer::Respond(Connection& conn, const HttpResponse& response) {
  const int cancel_fd = stop_.read_fd();
  if (!response.stream) {
    (void)conn.Send(FormatHttpResponse(response), absl::Now() + options_.read_timeout, cancel_fd);
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    if (streams_ >= options_.max_streams) {
      (void)conn.Send(FormatHttpResponse(TextResponse(503, "too many streams\n")),
                      absl::Now() + options_.read_timeout, cancel_fd);
      return;
    }
    ++streams_;
  }
  Stream stream(&conn, options_.read_timeout, absl::Now() + options_.max_stream_duration,
                cancel_fd);
  if (stream.Send(FormatHttpResponse(response))) response.stream(stream);
  absl::MutexLock lock(&mu_);
  --streams_;
}

HttpResponse HttpServer::Dispatch(const std::string& raw_request) {
  absl::string_view line(raw_request);
  line = line.substr(0, line.find("\r\n"));
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || !absl::StartsWith(parts[2], "HTTP/1.") || parts[1].empty() ||
      parts[1][0] != '/') {
    return TextResponse(400, "malformed request line\n");
  }
  HttpRequest request;
  request.method = std::string(parts[0]);
  absl::string_view target = parts[1];
  size_t question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != absl::string_view::npos) {
    request.query = std::string(target.substr(question + 1));
  }
  if (request.method != "GET") {
    return TextResponse(405, "only GET is supported\n");
  }
  auto it = handlers_.find(request.path);
  if (it == handlers_.end()) return TextResponse(404, "not found\n");
  return it->second(request);
}

}  // namespace ferry::observability
