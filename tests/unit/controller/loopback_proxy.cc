#include "tests/unit/controller/loopback_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ferry::controller {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = Loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Copies `from` to `to` until `from` ends, then half-closes `to`; on an
// error, shuts both down, so the other direction ends too.
void Copy(int from, int to) {
  char buffer[64 << 10];
  for (;;) {
    const ssize_t n = read(from, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      shutdown(to, SHUT_WR);
      return;
    }
    if (n < 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = send(to, buffer + done, n - done, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        shutdown(from, SHUT_RDWR);
        shutdown(to, SHUT_RDWR);
        return;
      }
      done += w;
    }
  }
  shutdown(from, SHUT_RDWR);
  shutdown(to, SHUT_RDWR);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LoopbackProxy>> LoopbackProxy::Start(const std::string& upstream) {
  int upstream_port = 0;
  const size_t colon = upstream.rfind(':');
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(upstream).substr(colon + 1), &upstream_port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("proxy upstream \"", upstream, "\" must be http://127.0.0.1:<port>"));
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  int wake[2] = {-1, -1};
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 64) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      pipe2(wake, O_CLOEXEC) != 0) {
    const std::string error = strerror(errno);
    if (fd >= 0) close(fd);
    return absl::InternalError(absl::StrCat("proxy listen on 127.0.0.1: ", error));
  }
  std::unique_ptr<LoopbackProxy> proxy(
      new LoopbackProxy(fd, ntohs(addr.sin_port), upstream_port, wake[0], wake[1]));
  proxy->acceptor_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

LoopbackProxy::~LoopbackProxy() {
  const char stop = 's';
  (void)!write(wake_write_, &stop, 1);
  acceptor_.join();
  Cut();
  close(listen_fd_);
  close(wake_read_);
  close(wake_write_);
}

std::string LoopbackProxy::endpoint() const { return absl::StrCat("http://127.0.0.1:", port_); }

void LoopbackProxy::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    absl::MutexLock lock(&mu_);
    const int upstream = cut_ ? -1 : ConnectLoopback(upstream_port_);
    if (upstream < 0) {
      close(client);
      continue;
    }
    auto pipe = std::make_unique<Pipe>();
    pipe->client = client;
    pipe->upstream = upstream;
    pipe->to_upstream = std::thread(Copy, client, upstream);
    pipe->to_client = std::thread(Copy, upstream, client);
    pipes_.push_back(std::move(pipe));
  }
}

void LoopbackProxy::Cut() {
  std::vector<std::unique_ptr<Pipe>> pipes;
  {
    absl::MutexLock lock(&mu_);
    cut_ = true;
    pipes.swap(pipes_);
  }
  CloseAll(std::move(pipes));
}

void LoopbackProxy::Resume() {
  absl::MutexLock lock(&mu_);
  cut_ = false;
}

void LoopbackProxy::CloseAll(std::vector<std::unique_ptr<Pipe>> pipes) {
  for (auto& p : pipes) {
    shutdown(p->client, SHUT_RDWR);
    shutdown(p->upstream, SHUT_RDWR);
  }
  for (auto& p : pipes) {
    p->to_upstream.join();
    p->to_client.join();
    close(p->client);
    close(p->upstream);
  }
}

}  // namespace ferry::controller
