#include "tests/bench/conn_load.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "tests/bench/bench_util.h"

namespace ferry::bench {
namespace {

constexpr char kRequest[] = "GET / HTTP/1.0\r\nHost: bench\r\n\r\n";
constexpr char kResponse[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
constexpr size_t kResponseLen = sizeof(kResponse) - 1;
constexpr char kStatusLine[] = "HTTP/1.0 200";
// A connection that has not finished by then is counted failed (a lost SYN
// is retried after 1 s, so this allows one retry).
constexpr double kConnectionTimeout = 3;

// Epoll user data for the server: the fd plus "answered" in the high bits.
constexpr uint64_t kAnswered = uint64_t{1} << 32;

void CloseWithReset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TinyHttpServer>> TinyHttpServer::Start(const Netns& ns,
                                                                      uint16_t port) {
  absl::StatusOr<int> listen_fd = ListenTcp(ns, port, "server");
  if (!listen_fd.ok()) return listen_fd.status();
  const int fd = *listen_fd;
  const int stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop < 0) {
    close(fd);
    return absl::InternalError("eventfd");
  }
  std::unique_ptr<TinyHttpServer> server(new TinyHttpServer(fd, stop));
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  return server;
}

TinyHttpServer::TinyHttpServer(int listen_fd, int stop_fd)
    : listen_fd_(listen_fd), stop_fd_(stop_fd) {}

TinyHttpServer::~TinyHttpServer() {
  const uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  close(stop_fd_);
}

void TinyHttpServer::Run() {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<uint64_t>(listen_fd_);
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.u64 = static_cast<uint64_t>(stop_fd_);
  epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd_, &ev);
  std::unordered_set<int> open_fds;  // closed at stop
  epoll_event events[128];
  char buf[1024];
  for (;;) {
    const int n = epoll_wait(ep, events, 128, -1);
    if (n < 0 && errno != EINTR) break;
    bool stop = false;
    for (int i = 0; i < n; ++i) {
      const int fd = static_cast<int>(events[i].data.u64 & 0xffffffff);
      const bool answered = (events[i].data.u64 & kAnswered) != 0;
      if (fd == stop_fd_) {
        stop = true;
      } else if (fd == listen_fd_) {
        for (int c;
             (c = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLRDHUP;
          cev.data.u64 = static_cast<uint64_t>(c);
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          open_fds.insert(c);
        }
      } else {
        const ssize_t got = read(fd, buf, sizeof(buf));
        if (got > 0 && !answered) {
          (void)!write(fd, kResponse, kResponseLen);
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLRDHUP;
          cev.data.u64 = static_cast<uint64_t>(fd) | kAnswered;
          epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
        } else if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
          close(fd);  // the client closed (with a reset): done
          open_fds.erase(fd);
        }
      }
    }
    if (stop) break;
  }
  for (int fd : open_fds) close(fd);
  close(ep);
}

LoadResult RunConnectionLoad(const Netns& client_ns, const sockaddr_in& target, int threads,
                             int in_flight, double seconds) {
  std::vector<LoadResult> results(threads);
  std::vector<std::thread> workers;
  const double start = NowSeconds();
  const double end = start + seconds;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      LoadResult& out = results[t];
      // The client's sockets must live in the client namespace.
      if (setns(client_ns.fd(), CLONE_NEWNET) != 0) {
        out.failed = -1;
        return;
      }
      struct Conn {
        int fd = -1;
        bool sent = false;
        size_t got = 0;
        bool status_ok = false;
        double started = 0;
      };
      std::vector<Conn> conns(in_flight);
      const int ep = epoll_create1(EPOLL_CLOEXEC);
      auto open_one = [&](int slot) {
        Conn& c = conns[slot];
        c = Conn{};
        c.started = NowSeconds();
        c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) return;
        connect(c.fd, reinterpret_cast<const sockaddr*>(&target), sizeof(target));
        epoll_event ev{};
        ev.events = EPOLLOUT;
        ev.data.u32 = static_cast<uint32_t>(slot);
        epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
      };
      auto finish = [&](int slot, bool ok) {
        Conn& c = conns[slot];
        if (c.fd >= 0) CloseWithReset(c.fd);
        c.fd = -1;
        if (NowSeconds() < end) {
          (ok ? out.completed : out.failed)++;
          open_one(slot);
        }
      };
      for (int s = 0; s < in_flight; ++s) open_one(s);
      epoll_event events[64];
      char buf[512];
      double last_sweep = start;
      while (NowSeconds() < end) {
        const int n = epoll_wait(ep, events, 64, 100);
        for (int i = 0; i < n; ++i) {
          const int slot = static_cast<int>(events[i].data.u32);
          Conn& c = conns[slot];
          if (c.fd < 0) continue;
          if (!c.sent) {
            int err = 0;
            socklen_t len = sizeof(err);
            getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0 || (events[i].events & (EPOLLERR | EPOLLHUP)) ||
                write(c.fd, kRequest, sizeof(kRequest) - 1) != sizeof(kRequest) - 1) {
              finish(slot, false);
              continue;
            }
            c.sent = true;
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u32 = static_cast<uint32_t>(slot);
            epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
            continue;
          }
          ssize_t got;
          while ((got = read(c.fd, buf, sizeof(buf))) > 0) {
            if (c.got == 0) {
              c.status_ok = static_cast<size_t>(got) >= sizeof(kStatusLine) - 1 &&
                            std::memcmp(buf, kStatusLine, sizeof(kStatusLine) - 1) == 0;
            }
            c.got += static_cast<size_t>(got);
          }
          if (c.got >= kResponseLen) {
            finish(slot, c.status_ok);
          } else if (got == 0 || (got < 0 && errno != EAGAIN)) {
            finish(slot, false);
          }
        }
        const double now = NowSeconds();
        if (now - last_sweep > 0.5) {
          last_sweep = now;
          for (int s = 0; s < in_flight; ++s) {
            if (conns[s].fd >= 0 && now - conns[s].started > kConnectionTimeout) finish(s, false);
          }
        }
      }
      for (Conn& c : conns) {
        if (c.fd >= 0) CloseWithReset(c.fd);
      }
      close(ep);
    });
  }
  for (std::thread& w : workers) w.join();
  LoadResult total;
  total.seconds = seconds;  // only exchanges finished inside the window count
  for (const LoadResult& r : results) {
    total.completed += r.completed;
    total.failed += r.failed < 0 ? 0 : r.failed;
  }
  return total;
}

}  // namespace ferry::bench
