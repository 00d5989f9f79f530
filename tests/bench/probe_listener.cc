#include "tests/bench/probe_listener.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_set>

namespace ferry::bench {
namespace {

// A connection the peer never closes stays open; beyond this many the
// oldest are not tracked further (closed), so a misbehaving run cannot
// exhaust the benchmark's descriptors.
constexpr size_t kMaxOpen = 8192;

}  // namespace

absl::StatusOr<std::unique_ptr<ProbeListener>> ProbeListener::Start(const Netns& ns,
                                                                    uint16_t port) {
  absl::StatusOr<int> listen_fd = ListenTcp(ns, port, "listener");
  if (!listen_fd.ok()) return listen_fd.status();
  const int fd = *listen_fd;
  const int stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop < 0) {
    close(fd);
    return absl::InternalError("eventfd");
  }
  std::unique_ptr<ProbeListener> listener(new ProbeListener(fd, stop));
  listener->thread_ = std::thread([l = listener.get()] { l->Run(); });
  return listener;
}

ProbeListener::~ProbeListener() {
  const uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  close(stop_fd_);
}

void ProbeListener::Run() {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.fd = stop_fd_;
  epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd_, &ev);
  std::unordered_set<int> open_fds;
  epoll_event events[128];
  char buf[512];
  bool stop = false;
  while (!stop) {
    const int n = epoll_wait(ep, events, 128, -1);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == stop_fd_) {
        stop = true;
      } else if (fd == listen_fd_) {
        for (int c;
             (c = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          accepted_.fetch_add(1, std::memory_order_relaxed);
          if (open_fds.size() >= kMaxOpen) {
            close(c);
            continue;
          }
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLRDHUP;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          open_fds.insert(c);
        }
      } else {
        // The peer reset or closed the connection (a probe sends nothing):
        // close our end, which then sends nothing more.
        const ssize_t got = read(fd, buf, sizeof(buf));
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (got > 0 && (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0) continue;
        close(fd);
        open_fds.erase(fd);
      }
    }
    open_.store(static_cast<int64_t>(open_fds.size()), std::memory_order_relaxed);
  }
  for (int fd : open_fds) close(fd);
  close(ep);
}

}  // namespace ferry::bench
