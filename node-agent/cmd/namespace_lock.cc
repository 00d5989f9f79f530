#include "node-agent/cmd/namespace_lock.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace ferry::agent {

absl::StatusOr<NamespaceLock> NamespaceLock::Acquire(absl::string_view name) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // sun_path[0] = '\0' makes the name abstract; it is not NUL-terminated.
  if (name.empty() || name.size() + 1 > sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("lock name \"", name, "\" must be 1..", sizeof(addr.sun_path) - 1, " bytes"));
  }
  memcpy(addr.sun_path + 1, name.data(), name.size());
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("socket(AF_UNIX): ", strerror(errno)));
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    const int err = errno;
    close(fd);
    if (err == EADDRINUSE) {
      return absl::FailedPreconditionError(
          absl::StrCat("another ferry-agent is running in this network namespace (abstract "
                       "socket @",
                       name, " is taken)"));
    }
    return absl::InternalError(absl::StrCat("bind(@", name, "): ", strerror(err)));
  }
  return NamespaceLock(fd);
}

NamespaceLock::NamespaceLock(NamespaceLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

NamespaceLock& NamespaceLock::operator=(NamespaceLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

NamespaceLock::~NamespaceLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace ferry::agent
