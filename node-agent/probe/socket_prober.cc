#include "node-agent/probe/socket_prober.h"

#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/lib/errno_status.h"
#include "api/lib/log.h"

namespace ferry::agent {
namespace {

constexpr int kMaxEvents = 64;

// "EHOSTUNREACH (No route to host)".
std::string ErrnoText(int err) {
  const char* name = strerrorname_np(err);
  return absl::StrCat(name != nullptr ? std::string(name) : absl::StrCat("errno ", err), " (",
                      strerror(err), ")");
}

std::string Via(const ProbeTarget& t) { return Endpoint(t.frontend, t.port); }
std::string Backend(const ProbeTarget& t) { return Endpoint(t.backend, t.target_port); }

bool IsTcp(const ProbeTarget& t) { return t.protocol == kProtoTcp; }

socklen_t ToSockaddr(const IpAddress& address, uint16_t port, sockaddr_storage* out) {
  std::memset(out, 0, sizeof(*out));
  if (address.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, address.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(&sin6->sin6_addr, address.data(), 16);
  return sizeof(sockaddr_in6);
}

int SocketError(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

}  // namespace

ProbeResult ResultOf(const ProbeTarget& t, ProbeEnd end) {
  switch (end) {
    case ProbeEnd::kConnected:
      return {ProbeStatus::kTrue, absl::StrCat("handshake with ", Backend(t), " via ", Via(t))};
    case ProbeEnd::kReplied:
      return {ProbeStatus::kTrue, absl::StrCat("reply from ", Backend(t), " via ", Via(t))};
    case ProbeEnd::kTimedOut:
      if (IsTcp(t)) {
        return {ProbeStatus::kFalse, absl::StrCat("no SYN-ACK from ", Backend(t), " via ", Via(t),
                                                  " within ", absl::FormatDuration(t.timeout))};
      }
      return {ProbeStatus::kUnknown,
              absl::StrCat("no reply to an empty datagram from ", Backend(t), " via ", Via(t),
                           " within ", absl::FormatDuration(t.timeout),
                           "; a UDP service need not answer")};
  }
  return {ProbeStatus::kUnknown, "unknown probe end"};
}

ProbeResult ResultOfError(const ProbeTarget& t, int err) {
  if (err == ECONNREFUSED) {
    if (IsTcp(t)) {
      return {ProbeStatus::kFalse,
              absl::StrCat("connection refused by ", Backend(t), " (RST) via ", Via(t))};
    }
    return {ProbeStatus::kFalse, absl::StrCat("port unreachable: ", Backend(t),
                                              " answered ICMP port unreachable via ", Via(t))};
  }
  if (err == EPERM) {
    // Netfilter dropped it on this node: the output chain's drop of a probe
    // that no element matched, or a filter of the node's own.
    return {ProbeStatus::kFalse,
            absl::StrCat("the probe to ", Via(t),
                         " was dropped on this node (EPERM): no DNAT element matched it, or an "
                         "output filter dropped it")};
  }
  return {ProbeStatus::kFalse,
          absl::StrCat(ErrnoText(err), " probing ", Backend(t), " via ", Via(t))};
}

ProbeResult ResultOfSetupError(const ProbeTarget& t, absl::string_view step, int err) {
  std::string message = absl::StrCat("cannot probe ", Via(t), ": ", step, ": ", ErrnoText(err));
  if (step == "SO_MARK" && (err == EPERM || err == EACCES)) {
    absl::StrAppend(&message, "; marking the probe needs CAP_NET_ADMIN");
  }
  return {ProbeStatus::kUnknown, std::move(message)};
}

SocketProber::SocketProber(Options options) : options_(options) {}

SocketProber::~SocketProber() { Stop(); }

absl::Status SocketProber::Start() {
  absl::MutexLock lock(&mu_);
  if (running_ || stopping_) return absl::OkStatus();
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return api::ErrnoStatus("epoll_create1 for the data-path prober", errno);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    const int err = errno;
    close(epoll_fd_);
    epoll_fd_ = -1;
    return api::ErrnoStatus("eventfd for the data-path prober", err);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) < 0) {
    const int err = errno;
    close(wake_fd_);
    close(epoll_fd_);
    wake_fd_ = epoll_fd_ = -1;
    return api::ErrnoStatus("epoll_ctl for the data-path prober", err);
  }
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void SocketProber::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    queue_.clear();
  }
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
  for (auto& [fd, active] : active_) close(fd);
  active_.clear();
  timers_.clear();
  if (wake_fd_ >= 0) close(wake_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  wake_fd_ = epoll_fd_ = -1;
  absl::MutexLock lock(&mu_);
  running_ = false;
  open_ = 0;
}

void SocketProber::Probe(const ProbeTarget& target, Done done) {
  ProbeResult refused{ProbeStatus::kUnknown, ""};
  Done refuse;  // set: answered here, outside the lock
  {
    absl::MutexLock lock(&mu_);
    if (!running_ || stopping_) {
      refused.message = absl::StrCat("cannot probe ", Via(target), ": the prober is stopped");
      refuse = std::move(done);
    } else if (queue_.size() >= options_.max_queued) {
      refused.message = absl::StrCat("cannot probe ", Via(target), ": ", queue_.size(),
                                     " probes are waiting already");
      refuse = std::move(done);
    } else {
      queue_.push_back(Request{target, std::move(done)});
    }
  }
  if (refuse) {
    refuse(std::move(refused));
    return;
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

size_t SocketProber::open_sockets() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

void SocketProber::Loop() {
  epoll_event events[kMaxEvents];
  while (true) {
    int timeout_ms = -1;
    if (!timers_.empty()) {
      const absl::Duration left = timers_.begin()->first - absl::Now();
      timeout_ms = left <= absl::ZeroDuration()
                       ? 0
                       : static_cast<int>(absl::ToInt64Milliseconds(
                             absl::Ceil(std::min(left, absl::Hours(1)), absl::Milliseconds(1))));
    }
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
    if (n < 0 && errno != EINTR) {
      LogError("data-path prober: epoll_wait failed; probing stops", {{"error", ErrnoText(errno)}});
      return;
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd != wake_fd_) {
        OnEvent(events[i].data.fd, events[i].events);
        continue;
      }
      uint64_t count = 0;
      (void)!read(wake_fd_, &count, sizeof(count));
      std::deque<Request> requests;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        requests.swap(queue_);
      }
      for (Request& request : requests) Launch(std::move(request));
    }
    const absl::Time now = absl::Now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      const int fd = timers_.begin()->second;
      Finish(fd, ResultOf(active_.at(fd).target, ProbeEnd::kTimedOut));
    }
    absl::MutexLock lock(&mu_);
    open_ = active_.size();
  }
}

void SocketProber::Launch(Request request) {
  const ProbeTarget& t = request.target;
  const bool tcp = IsTcp(t);
  const bool v4 = t.frontend.is_v4();
  const int fd = socket(v4 ? AF_INET : AF_INET6,
                        (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    request.done(ResultOfSetupError(t, "socket", errno));
    return;
  }
  auto fail = [&](ProbeResult result) {
    close(fd);
    request.done(std::move(result));
  };
  const uint32_t mark = options_.mark;
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
    return fail(ResultOfSetupError(t, "SO_MARK", errno));
  }
  const int one = 1;
  if (tcp) {
    // Reset, not FIN, on close: no TIME_WAIT on either end. And the port
    // is chosen at connect, for the 4-tuple, not at bind.
    const linger reset{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
  } else {
    // Every ICMP error, not only port unreachable, reaches the socket.
    setsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_RECVERR : IPV6_RECVERR, &one,
               sizeof(one));
  }
  sockaddr_storage local{};
  const socklen_t local_len = ToSockaddr(t.frontend, 0, &local);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), local_len) < 0) {
    return fail(ResultOfSetupError(t, "bind", errno));
  }
  sockaddr_storage remote{};
  const socklen_t remote_len = ToSockaddr(t.frontend, t.port, &remote);
  const int rc = connect(fd, reinterpret_cast<sockaddr*>(&remote), remote_len);
  if (tcp && rc == 0) return fail(ResultOf(t, ProbeEnd::kConnected));
  if (rc < 0 && !(tcp && errno == EINPROGRESS)) return fail(ResultOfError(t, errno));
  if (!tcp && send(fd, "", 0, 0) < 0) return fail(ResultOfError(t, errno));

  epoll_event ev{};
  ev.events = tcp ? EPOLLOUT : EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    return fail(ResultOfSetupError(t, "epoll_ctl", errno));
  }
  const absl::Time deadline = absl::Now() + t.timeout;
  auto timer = timers_.emplace(deadline, fd);
  active_.emplace(fd, Active{request.target, std::move(request.done), timer});
}

void SocketProber::OnEvent(int fd, uint32_t events) {
  auto it = active_.find(fd);
  if (it == active_.end()) return;
  const ProbeTarget& t = it->second.target;
  if (IsTcp(t)) {
    const int err = SocketError(fd);
    if (err != 0) return Finish(fd, ResultOfError(t, err));
    if (events & EPOLLOUT) return Finish(fd, ResultOf(t, ProbeEnd::kConnected));
    if (events & (EPOLLERR | EPOLLHUP)) return Finish(fd, ResultOfError(t, ECONNRESET));
    return;
  }
  char byte = 0;
  if (recv(fd, &byte, sizeof(byte), MSG_DONTWAIT) >= 0) {
    return Finish(fd, ResultOf(t, ProbeEnd::kReplied));
  }
  if (errno != EAGAIN && errno != EWOULDBLOCK) return Finish(fd, ResultOfError(t, errno));
  if (events & EPOLLERR) {
    const int err = SocketError(fd);
    if (err != 0) return Finish(fd, ResultOfError(t, err));
  }
}

void SocketProber::Finish(int fd, ProbeResult result) {
  auto it = active_.find(fd);
  if (it == active_.end()) return;
  Done done = std::move(it->second.done);
  timers_.erase(it->second.timer);
  active_.erase(it);
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  {
    // Counted before the caller hears of it, so a caller that checks the
    // count after its result sees this socket gone.
    absl::MutexLock lock(&mu_);
    open_ = active_.size();
  }
  done(std::move(result));
}

}  // namespace ferry::agent
