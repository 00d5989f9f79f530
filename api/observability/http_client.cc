#include "api/observability/http_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "api/observability/socket_util.h"

namespace ferry::observability {
namespace {

constexpr size_t kMaxStatusLineBytes = size_t{8} * 1024;

struct AddrInfoDeleter {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};

absl::StatusOr<UniqueFd> Connect(const HttpUrl& url, absl::Time deadline, int cancel_fd) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* raw = nullptr;
  std::string port = absl::StrCat(url.port);
  // getaddrinfo cannot be cancelled; a hung resolver costs its own timeout.
  int gai = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &raw);
  if (gai != 0) {
    return absl::UnavailableError(
        absl::StrCat("resolve ", url.host, " for ", url.text, ": ", gai_strerror(gai)));
  }
  std::unique_ptr<addrinfo, AddrInfoDeleter> found(raw);
  absl::Status last = absl::UnavailableError("no addresses");
  for (addrinfo* ai = found.get(); ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
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

// Names the URL in a transport error, keeping its code (CANCELLED and
// DEADLINE_EXCEEDED steer the notifier).
absl::Status Annotate(const absl::Status& status, const HttpUrl& url) {
  return absl::Status(status.code(), absl::StrCat(url.text, ": ", status.message()));
}

}  // namespace

absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url, absl::string_view field) {
  auto refuse = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " \"", absl::CHexEscape(url), "\" ", why));
  };
  for (size_t i = 0; i < url.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(url[i]);
    if (c < 0x20 || c == 0x7f) {
      return refuse(
          absl::StrFormat("contains a control character (byte 0x%02x at offset %d)", c, i));
    }
    if (c == ' ') {
      return refuse(absl::StrCat("contains a space at offset ", i, "; percent-encode it as %20"));
    }
    if (c >= 0x80) {
      return refuse(absl::StrCat("contains a non-ASCII byte at offset ", i, "; percent-encode it"));
    }
  }
  HttpUrl result;
  absl::string_view rest;
  if (absl::StartsWithIgnoreCase(url, "https://")) {
    result.https = true;
    result.port = 443;
    rest = url.substr(8);
  } else if (absl::StartsWithIgnoreCase(url, "http://")) {
    rest = url.substr(7);
  } else {
    return refuse("must start with https:// (preferred) or http://");
  }
  result.text = std::string(url);
  // A fragment is for the browser; it is never sent.
  rest = rest.substr(0, rest.find('#'));
  size_t path_start = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, path_start);
  if (path_start != absl::string_view::npos) {
    absl::string_view path = rest.substr(path_start);
    result.path = absl::StrCat(path.front() == '?' ? "/" : "", path);
  }
  if (authority.find('@') != absl::string_view::npos) {
    return refuse("must not contain credentials");
  }
  bool bracketed = !authority.empty() && authority.front() == '[';
  bool has_port =
      bracketed ? !absl::EndsWith(authority, "]") : authority.find(':') != absl::string_view::npos;
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
    return refuse("needs a host and a non-zero port");
  }
  return result;
}

absl::StatusOr<int> HttpPost(const HttpUrl& url, const HttpPostRequest& request,
                             const TlsClientContext* tls, absl::Duration timeout, int cancel_fd) {
  if (url.https && tls == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(url.text, ": https needs a TLS context"));
  }
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<UniqueFd> fd = Connect(url, deadline, cancel_fd);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<TlsStream> stream;
  if (url.https) {
    absl::StatusOr<std::unique_ptr<TlsStream>> connected =
        TlsStream::Connect(*tls, fd->get(), url.host, deadline, cancel_fd);
    if (!connected.ok()) return Annotate(connected.status(), url);
    stream = *std::move(connected);
  }
  auto send = [&](absl::string_view data) {
    return stream != nullptr ? stream->SendAll(data, deadline, cancel_fd)
                             : SendAll(fd->get(), data, deadline, cancel_fd);
  };
  auto receive = [&](std::string* out, size_t max) {
    return stream != nullptr ? stream->ReceiveSome(out, max, deadline, cancel_fd)
                             : ReceiveSome(fd->get(), out, max, deadline, cancel_fd);
  };

  std::string head =
      absl::StrCat("POST ", url.path, " HTTP/1.1\r\nHost: ", FormatHostPort(url.host, url.port),
                   "\r\nUser-Agent: ferry-controller\r\nContent-Type: ", request.content_type,
                   "\r\nContent-Length: ", request.body.size(), "\r\nConnection: close\r\n");
  for (const auto& [name, value] : request.headers) {
    absl::StrAppend(&head, name, ": ", value, "\r\n");
  }
  head += "\r\n";
  // One write: over TLS, one record train instead of two.
  absl::Status sent = send(absl::StrCat(head, request.body));
  if (!sent.ok()) return Annotate(sent, url);

  std::string response;
  while (response.find("\r\n") == std::string::npos) {
    if (response.size() >= kMaxStatusLineBytes) {
      return absl::UnavailableError(absl::StrCat(url.text, " sent an overlong status line"));
    }
    absl::StatusOr<size_t> n = receive(&response, kMaxStatusLineBytes - response.size());
    if (!n.ok()) return Annotate(n.status(), url);
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
    return absl::UnavailableError(
        absl::StrCat(url.text, " answered with a malformed status line: ", line.substr(0, 64)));
  }
  return status;
}

}  // namespace ferry::observability
