#include "api/observability/socket_util.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ferry::observability {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) Reset(other.Release());
  return *this;
}

int UniqueFd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

absl::Status CancelPipe::Open() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return ErrnoStatus("pipe2", errno);
  }
  read_.Reset(fds[0]);
  write_.Reset(fds[1]);
  return absl::OkStatus();
}

void CancelPipe::Signal() {
  if (!write_.valid()) return;
  char byte = 1;
  // Never read back, so the read end stays readable; a full pipe (EAGAIN)
  // means it is already signalled.
  ssize_t ignored = write(write_.get(), &byte, 1);
  (void)ignored;
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view address, absl::string_view field) {
  HostPort result;
  absl::string_view port_text;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == absl::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " \"", address, "\" must look like [v6-address]:port"));
    }
    result.host = std::string(address.substr(1, close - 1));
    port_text = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " \"", address, "\" must look like host:port"));
    }
    result.host = std::string(address.substr(0, colon));
    if (result.host.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " \"", address, "\": put an IPv6 address in brackets, [::1]:port"));
    }
    port_text = address.substr(colon + 1);
  }
  if (!absl::SimpleAtoi(port_text, &result.port) || result.port < 0 || result.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(field, " \"", address, "\" has port \"",
                                                   port_text, "\"; want a number 0-65535"));
  }
  return result;
}

std::string FormatHostPort(absl::string_view host, int port) {
  if (host.find(':') != absl::string_view::npos) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

absl::Status WaitFd(int fd, short events, absl::Time deadline, int cancel_fd) {
  for (;;) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError("socket timed out");
    }
    pollfd fds[2] = {{fd, events, 0}, {cancel_fd, POLLIN, 0}};
    // Rounded up so we never wake just before the deadline and spin.
    int timeout_ms =
        left == absl::InfiniteDuration()
            ? -1
            : static_cast<int>(std::min<int64_t>(INT_MAX, absl::ToInt64Milliseconds(left) + 1));
    int n = poll(fds, cancel_fd >= 0 ? 2 : 1, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("poll", errno);
    }
    if (cancel_fd >= 0 && (fds[1].revents & POLLIN)) {
      return absl::CancelledError("stopping");
    }
    if (fds[0].revents != 0) return absl::OkStatus();
  }
}

absl::Status SendAll(int fd, absl::string_view data, absl::Time deadline, int cancel_fd) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (absl::Status s = WaitFd(fd, POLLOUT, deadline, cancel_fd); !s.ok()) {
        return s;
      }
      continue;
    }
    return ErrnoStatus("send", errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> ReceiveSome(int fd, std::string* out, size_t max_bytes, absl::Time deadline,
                                   int cancel_fd) {
  char buf[4096];
  for (;;) {
    size_t want = std::min(sizeof(buf), max_bytes);
    ssize_t n = recv(fd, buf, want, 0);
    if (n >= 0) {
      out->append(buf, static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return ErrnoStatus("recv", errno);
    }
    if (absl::Status s = WaitFd(fd, POLLIN, deadline, cancel_fd); !s.ok()) {
      return s;
    }
  }
}

absl::Status SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return ErrnoStatus("fcntl(O_NONBLOCK)", errno);
  }
  return absl::OkStatus();
}

}  // namespace ferry::observability
