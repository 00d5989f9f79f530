#ifndef FERRY_NODE_AGENT_MONITOR_EVENT_SOCKETS_H_
#define FERRY_NODE_AGENT_MONITOR_EVENT_SOCKETS_H_

// Raw netlink sockets for the drift monitor: multicast subscriptions to
// nftables and rtnetlink notifications, and the nftables generation query.
// Sockets belong to the network namespace of the thread that opens them.

#include <linux/netlink.h>

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ferry::agent {

// A non-blocking netlink socket joined to multicast groups.
class MulticastSocket {
 public:
  static absl::StatusOr<MulticastSocket> Open(int bus, const std::vector<unsigned>& groups);

  MulticastSocket(MulticastSocket&& other) noexcept;
  MulticastSocket& operator=(MulticastSocket&& other) noexcept;
  MulticastSocket(const MulticastSocket&) = delete;
  MulticastSocket& operator=(const MulticastSocket&) = delete;
  ~MulticastSocket();

  int fd() const { return fd_; }

  // Reads every queued datagram and passes each message to `on_message`.
  // Returns false when the kernel dropped notifications (ENOBUFS).
  bool Drain(absl::FunctionRef<void(const nlmsghdr*, size_t)> on_message);

 private:
  explicit MulticastSocket(int fd) : fd_(fd), buf_(64 * 1024) {}
  int fd_ = -1;
  std::vector<char> buf_;
};

// Asks nf_tables for its current ruleset generation (NFT_MSG_GETGEN).
class GenerationQuery {
 public:
  static absl::StatusOr<GenerationQuery> Open();

  GenerationQuery(GenerationQuery&& other) noexcept;
  GenerationQuery& operator=(GenerationQuery&& other) noexcept;
  GenerationQuery(const GenerationQuery&) = delete;
  GenerationQuery& operator=(const GenerationQuery&) = delete;
  ~GenerationQuery();

  absl::StatusOr<uint32_t> Current();

 private:
  explicit GenerationQuery(int fd) : fd_(fd) {}
  int fd_ = -1;
  uint32_t seq_ = 1;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_MONITOR_EVENT_SOCKETS_H_
