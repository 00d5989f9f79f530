#ifndef FERRY_NODE_AGENT_KERNEL_NETLINK_SOCKET_H_
#define FERRY_NODE_AGENT_KERNEL_NETLINK_SOCKET_H_

#include <libmnl/libmnl.h>

#include <initializer_list>
#include <memory>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node-agent/kernel/netlink_batch.h"

namespace ferry::agent {

struct MnlSocketDeleter {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using MnlSocketPtr = std::unique_ptr<mnl_socket, MnlSocketDeleter>;

// One bound netlink socket (NETLINK_NETFILTER or NETLINK_ROUTE) with
// extended ACKs, for requests and for the notifications of the groups it
// joins. Sockets belong to the network namespace of the thread that opened
// them. Not thread-safe: one request (or drain) at a time.
class NetlinkSocket {
 public:
  static absl::StatusOr<std::unique_ptr<NetlinkSocket>> Open(int bus);

  // Sends the whole batch with one sendmsg (growing SO_SNDBUF to fit) and
  // reads every ACK. Returns OK only if every message succeeded; otherwise
  // the error of the first failing message, named by the batch, plus a count
  // of further failures.
  absl::Status Transact(const NetlinkBatch& batch);

  // Sends one GET/dump request (the only message in `request`) and passes
  // each reply to `on_message` until NLMSG_DONE or the single reply.
  absl::Status Request(const NetlinkBatch& request,
                       absl::FunctionRef<absl::Status(const nlmsghdr*)> on_message);

  // First sequence number for the next batch; Transact/Request advance it.
  uint32_t next_seq() const { return seq_; }

  // A socket for the kernel's notifications to `groups` (RTNLGRP_*,
  // NFNLGRP_*) of `bus`, to be read with Drain. `buffer_bytes` (0: the
  // default) makes room for a burst of them (after a big transaction);
  // beyond net.core.rmem_max only with CAP_NET_ADMIN. Best kept apart from
  // a socket used for requests, whose replies Request reads in order.
  static absl::StatusOr<std::unique_ptr<NetlinkSocket>> Subscribe(
      int bus, std::initializer_list<unsigned> groups, size_t buffer_bytes = 0);

  // What Drain read: datagrams from the kernel, and whether the kernel
  // dropped notifications because the socket's queue was full (ENOBUFS).
  struct Drained {
    int datagrams = 0;
    bool lost = false;
  };
  // Reads every datagram already queued, without blocking, and passes each
  // message the kernel sent to `on_message` (datagrams from other senders
  // are dropped unread).
  Drained Drain(absl::FunctionRef<void(const nlmsghdr*)> on_message);

  // For poll(): readable when a datagram is queued.
  int fd() const { return mnl_socket_get_fd(sock_.get()); }

 private:
  explicit NetlinkSocket(MnlSocketPtr sock);
  absl::Status Send(const NetlinkBatch& batch);
  // One recv into rx_; returns the byte count, 0 on timeout/EAGAIN.
  absl::StatusOr<size_t> Receive(bool dont_wait);

  MnlSocketPtr sock_;
  uint32_t portid_ = 0;
  uint32_t seq_ = 1;
  std::vector<char> rx_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_NETLINK_SOCKET_H_
