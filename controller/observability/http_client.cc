#include "controller/observability/http_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/observability/socket_util.h"

namespace ferry::controller {
namespace {

constexpr size_t kMaxStatusLineBytes = size_t{8} * 1024;

struct AddrInfoDeleter {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};

absl::StatusOr<UniqueFd> Connect(const HttpUrl& url, absl::Time deadline,
                                 int cancel_fd) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* raw = nullptr;
  std::string port = absl::StrCat(url.port);
  // getaddrinfo cannot be cancelled; a hung resolver costs its own timeout.
  int gai = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &raw);
  if (gai != 0) {
    return absl::UnavailableError(absl::StrCat(
        "resolve ", url.host, " for ", url.text, ": ", gai_strerror(gai)));
  }
  std::unique_ptr<addrinfo, AddrInfoDeleter> found(raw);
  absl::Status last = absl::UnavailableError("no addresses");
  for (addrinfo* ai = found.get(); ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(socket(ai->ai_family,
                       ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) {
      last = ErrnoStatus("socket", errno);
      continue;
    }
    if (connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0) return fd;
    if (errno != EINPROGRESS) {
      last = ErrnoStatus(absl::StrCat("connect ", url.text), errno);
      continue;
    }
    last = WaitFd(fd.get(), POLLOUT, deadline, cancel_fd);
    if (absl::IsCancelled(last) || absl::IsDeadlineExceeded(last)) return last;
    if (!last.ok()) continue;
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0) return fd;
    last = ErrnoStatus(absl::StrCat("connect ", url.text), err);
  }
  return last;
}

}  // namespace

absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url,
                                     absl::string_view field) {
  constexpr absl::string_view kScheme = "http://";
  if (!absl::StartsWith(url, kScheme)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " \"", url,
                     "\" must start with http:// (https is not supported)"));
  }
  HttpUrl result;
  result.text = std::string(url);
  absl::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  if (slash != absl::string_view::npos) {
    result.path = std::string(rest.substr(slash));
  }
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " \"", url, "\" must not contain credentials"));
  }
  bool bracketed = !authority.empty() && authority.front() == '[';
  bool has_port = bracketed ? !absl::EndsWith(authority, "]")
                            : authority.find(':') != absl::string_view::npos;
  if (has_port) {
    absl::StatusOr<HostPort> hp = ParseHostPort(authority, field);
    if (!hp.ok()) return hp.status();
    result.host = hp->host;
    result.port = hp->port;
  } else if (bracketed) {
    result.host = std::string(authority.substr(1, authority.size() - 2));
  } else {
    result.host = std::string(authority);
  }
  if (result.host.empty() || result.port == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " \"", url, "\" needs a host and a non-zero port"));
  }
  return result;
}

absl::StatusOr<int> HttpPost(const HttpUrl& url, absl::string_view content_type,
                             absl::string_view body, absl::Duration timeout,
                             int cancel_fd) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<UniqueFd> fd = Connect(url, deadline, cancel_fd);
  if (!fd.ok()) return fd.status();
  std::string request = absl::StrCat(
      "POST ", url.path,
      " HTTP/1.1\r\nHost: ", FormatHostPort(url.host, url.port),
      "\r\nUser-Agent: ferry-controller\r\nContent-Type: ", content_type,
      "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n");
  absl::Status sent = SendAll(fd->get(), request, deadline, cancel_fd);
  if (sent.ok()) sent = SendAll(fd->get(), body, deadline, cancel_fd);
  if (!sent.ok()) return sent;

  std::string response;
  while (response.find("\r\n") == std::string::npos) {
    if (response.size() >= kMaxStatusLineBytes) {
      return absl::UnavailableError(
          absl::StrCat(url.text, " sent an overlong status line"));
    }
    absl::StatusOr<size_t> n =
        ReceiveSome(fd->get(), &response, kMaxStatusLineBytes - response.size(),
                    deadline, cancel_fd);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return absl::UnavailableError(
          absl::StrCat(url.text, " closed the connection without a response"));
    }
  }
  // "HTTP/1.1 204 No Content"
  absl::string_view line(response);
  line = line.substr(0, line.find("\r\n"));
  int status = 0;
  if (!absl::StartsWith(line, "HTTP/1.") || line.size() < 12 ||
      !absl::SimpleAtoi(line.substr(9, 3), &status)) {
    return absl::UnavailableError(absl::StrCat(
        url.text,
        " answered with a malformed status line: ", line.substr(0, 64)));
  }
  return status;
}

}  // namespace ferry::controller
