#include "controller/server/unix_listener.h"

#include <fcntl.h>
#include <grpcpp/server.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "api/lib/errno_status.h"
#include "api/lib/log.h"

namespace ferry::controller {
namespace {

constexpr mode_t kSocketMode = 0660;

struct PeerTable {
  absl::Mutex mu;
  absl::flat_hash_map<int, uid_t> uid_by_fd ABSL_GUARDED_BY(mu);
};

PeerTable& Peers() {
  static PeerTable* table = new PeerTable();
  return *table;
}

// "<what> <path>: <strerror(errno)>", coded by errno.
absl::Status Errno(absl::string_view what, const std::string& path) {
  return api::ErrnoStatus(absl::StrCat(what, " ", path), errno);
}

absl::StatusOr<sockaddr_un> Address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("--listen unix:", path, ": path longer than ",
                                                   sizeof(addr.sun_path) - 1, " bytes"));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// Whether a server accepts connections on `path` right now.
bool Answers(const sockaddr_un& addr) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool live = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return live;
}

}  // namespace

absl::StatusOr<std::unique_ptr<UnixListener>> UnixListener::Open(const std::string& path) {
  absl::StatusOr<sockaddr_un> addr = Address(path);
  if (!addr.ok()) return addr.status();
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("--listen unix:", path, ": ", path,
                       " exists and is not a socket; refusing to remove it"));
    }
    if (Answers(*addr)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--listen unix:", path, ": another server is answering on it; refusing to take it over"));
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Errno("cannot remove the stale socket", path);
    }
  }
  // Bound under a temporary name and renamed, so the socket is never
  // reachable with the umask's mode.
  const std::string temp = absl::StrCat(path, ".", ::getpid(), ".tmp");
  absl::StatusOr<sockaddr_un> temp_addr = Address(temp);
  if (!temp_addr.ok()) return temp_addr.status();
  ::unlink(temp.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Errno("cannot create a socket for", path);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&*temp_addr), sizeof(*temp_addr)) != 0 ||
      ::chmod(temp.c_str(), kSocketMode) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    absl::Status s = Errno("cannot listen on", path);
    ::close(fd);
    ::unlink(temp.c_str());
    return s;
  }
  if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
    absl::Status s = errno == EEXIST
                         ? absl::FailedPreconditionError(absl::StrCat(
                               "--listen unix:", path, ": another server created it just now"))
                         : Errno("cannot move the socket into place at", path);
    ::close(fd);
    ::unlink(temp.c_str());
    return s;
  }
  if (::lstat(path.c_str(), &st) != 0) {
    absl::Status s = Errno("cannot stat", path);
    ::close(fd);
    return s;
  }
  return std::unique_ptr<UnixListener>(new UnixListener(path, fd, st.st_dev, st.st_ino));
}

UnixListener::UnixListener(std::string path, int fd, dev_t dev, ino_t ino)
    : path_(std::move(path)), fd_(fd), dev_(dev), ino_(ino), owner_(::geteuid()) {
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

UnixListener::~UnixListener() {
  Stop();
  ::close(fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

void UnixListener::Start(grpc::Server* server) {
  thread_ = std::thread([this, server] { AcceptLoop(server); });
}

void UnixListener::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)::write(stop_fd_, &one, sizeof(one));
    thread_.join();
  }
  struct stat st;
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
    ::unlink(path_.c_str());
  }
}

void UnixListener::AcceptLoop(grpc::Server* server) {
  pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  while (true) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LogError("unix socket: poll failed", {{"error", std::strerror(errno)}});
      return;
    }
    if (fds[1].revents != 0) return;
    // gRPC's poller needs a non-blocking descriptor.
    int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        LogWarning("unix socket: accept failed", {{"error", std::strerror(errno)}});
      }
      continue;
    }
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      LogWarning("unix socket: no peer credentials; closing", {{"error", std::strerror(errno)}});
      ::close(conn);
      continue;
    }
    {
      // Recorded before gRPC sees the descriptor, so the first call on it
      // already resolves. A number reused after a close is overwritten here.
      PeerTable& peers = Peers();
      absl::MutexLock lock(&peers.mu);
      peers.uid_by_fd[conn] = cred.uid;
    }
    grpc::AddInsecureChannelFromFd(server, conn);
  }
}

std::optional<uid_t> UnixListener::PeerUid(absl::string_view peer) {
  int fd = 0;
  if (!absl::ConsumePrefix(&peer, "fd:") || !absl::SimpleAtoi(peer, &fd)) return std::nullopt;
  PeerTable& peers = Peers();
  absl::MutexLock lock(&peers.mu);
  auto it = peers.uid_by_fd.find(fd);
  if (it == peers.uid_by_fd.end()) return std::nullopt;
  return it->second;
}

}  // namespace ferry::controller
