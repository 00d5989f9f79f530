#ifndef FERRY_NODE_AGENT_CMD_NAMESPACE_LOCK_H_
#define FERRY_NODE_AGENT_CMD_NAMESPACE_LOCK_H_

// One agent per network namespace. Two agents in one namespace would each
// repair the other's rules forever (seen: every 11 ms), so the second must
// refuse to start. The lock is a bound abstract unix socket: abstract names
// are per network namespace, need no file or privilege (an agent running
// as an unprivileged user takes it too), and the kernel frees the name when
// the process dies, however it dies, so a crash never leaves a stale lock.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::agent {

inline constexpr char kAgentLockName[] = "ferry-agent";

class NamespaceLock {
 public:
  // Binds the abstract socket "@<name>" in the calling thread's network
  // namespace. FAILED_PRECONDITION "another ferry-agent is running in this
  // network namespace (abstract socket @<name> is taken)" if it is bound.
  static absl::StatusOr<NamespaceLock> Acquire(absl::string_view name = kAgentLockName);

  NamespaceLock(NamespaceLock&& other) noexcept;
  NamespaceLock& operator=(NamespaceLock&& other) noexcept;
  NamespaceLock(const NamespaceLock&) = delete;
  NamespaceLock& operator=(const NamespaceLock&) = delete;
  // Releases the name.
  ~NamespaceLock();

 private:
  explicit NamespaceLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_CMD_NAMESPACE_LOCK_H_
