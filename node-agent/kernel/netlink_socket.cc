#include "node-agent/kernel/netlink_socket.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "node-agent/kernel/errno_status.h"
#include "node-agent/kernel/netlink_walk.h"

namespace ferry::agent {
namespace {

// Replies to a request arrive within this time or the request failed:
// the kernel handles netlink requests synchronously in sendmsg.
constexpr int kReceiveTimeoutSeconds = 5;
constexpr size_t kReceiveBufferBytes = 256 * 1024;
// Bound on recv calls per request, far above any real dump (100k set
// elements fill a few hundred datagrams).
constexpr int kMaxReceives = 1000000;
// Datagrams from other senders skipped in a row before a receive gives up.
constexpr int kMaxForeignDatagrams = 1024;

// Datagrams read by one Drain at most, so a flood cannot hold its caller.
constexpr int kMaxDrainedDatagrams = 1024;

// Only the kernel (port 0) answers requests or sends notifications;
// another process could unicast anything to our port.
bool FromKernel(const sockaddr_nl& from, socklen_t from_len) {
  return from_len == sizeof(from) && from.nl_family == AF_NETLINK && from.nl_pid == 0;
}

struct ExtAck {
  std::optional<uint32_t> offset;
  std::string message;
};

// The struct nlmsgerr of an NLMSG_ERROR message, or nullptr when the
// message is too short to hold one.
const nlmsgerr* ErrorPayload(const nlmsghdr* nlh) {
  return static_cast<const nlmsgerr*>(MessagePayload(nlh, sizeof(nlmsgerr)));
}

// Reads the extended-ACK TLVs behind a struct nlmsgerr.
ExtAck ParseExtAck(const nlmsghdr* nlh, const nlmsgerr* err) {
  ExtAck ack;
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return ack;
  // Behind the nlmsgerr: the rest of the failed message unless capped.
  size_t skip = sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
    if (err->msg.nlmsg_len < sizeof(nlmsghdr)) return ack;
    skip += NLMSG_ALIGN(static_cast<size_t>(err->msg.nlmsg_len)) - sizeof(nlmsghdr);
  }
  const absl::string_view payload = MessageAttributes(nlh, 0);
  if (skip >= payload.size()) return ack;
  AttributeWalker walk(payload.substr(skip));
  while (const nlattr* attr = walk.Next()) {
    const absl::string_view value = AttributePayload(attr);
    switch (AttributeType(attr)) {
      case NLMSGERR_ATTR_OFFS:
        if (value.size() == sizeof(uint32_t)) {
          uint32_t offset = 0;
          std::memcpy(&offset, value.data(), sizeof(offset));
          ack.offset = offset;
        }
        break;
      case NLMSGERR_ATTR_MSG:
        if (!value.empty() && value.back() == '\0') {
          ack.message = std::string(value.substr(0, value.find('\0')));
        }
        break;
    }
  }
  return ack;
}

void SetIntOption(int fd, int level, int opt, int value) {
  // Best effort: an unsupported option only costs detail in errors.
  setsockopt(fd, level, opt, &value, sizeof(value));
}

int GetIntOption(int fd, int opt) {
  int value = 0;
  socklen_t len = sizeof(value);
  getsockopt(fd, SOL_SOCKET, opt, &value, &len);
  return value;
}

// Makes room for `bytes` in the socket buffer `opt` (SO_SNDBUF/SO_RCVBUF).
// The FORCE variant passes net.core.{w,r}mem_max but needs CAP_NET_ADMIN.
void GrowBuffer(int fd, int opt, int force_opt, size_t bytes) {
  // The kernel doubles the value and reports the doubled size.
  if (static_cast<size_t>(GetIntOption(fd, opt)) >= 2 * bytes) return;
  const int value = static_cast<int>(std::min<size_t>(bytes, 1u << 30));
  if (setsockopt(fd, SOL_SOCKET, force_opt, &value, sizeof(value)) != 0) {
    setsockopt(fd, SOL_SOCKET, opt, &value, sizeof(value));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<NetlinkSocket>> NetlinkSocket::Open(int bus) {
  const char* name = bus == NETLINK_NETFILTER ? "nftables" : "rtnetlink";
  MnlSocketPtr sock(mnl_socket_open(bus));
  if (!sock) {
    return ErrnoToStatus(errno, absl::StrCat("opening ", name, " socket"));
  }
  if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return ErrnoToStatus(errno, absl::StrCat("binding ", name, " socket"));
  }
  const int fd = mnl_socket_get_fd(sock.get());
  // Error ACKs carry only the header of the failed message (not a copy of
  // a 64 KiB element list) plus the offset of the failing attribute.
  SetIntOption(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
  SetIntOption(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
  timeval tv{kReceiveTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return std::unique_ptr<NetlinkSocket>(new NetlinkSocket(std::move(sock)));
}

NetlinkSocket::NetlinkSocket(MnlSocketPtr sock)
    : sock_(std::move(sock)),
      portid_(mnl_socket_get_portid(sock_.get())),
      rx_(kReceiveBufferBytes) {}

absl::Status NetlinkSocket::Send(const NetlinkBatch& batch) {
  const int fd = mnl_socket_get_fd(sock_.get());
  // netlink_sendmsg rejects a datagram larger than the send buffer; the
  // whole batch must be one datagram to be one transaction.
  GrowBuffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, batch.size() + 64 * 1024);
  // Every ACK is queued before sendmsg returns; they must all fit.
  GrowBuffer(fd, SO_RCVBUF, SO_RCVBUFFORCE,
             std::max<size_t>(1 << 20, batch.acks_expected() * 2048));
  seq_ = batch.next_seq();
  const ssize_t sent = mnl_socket_sendto(sock_.get(), batch.data(), batch.size());
  if (sent < 0) {
    return ErrnoToStatus(errno, absl::StrCat("sending netlink batch of ", batch.size(), " bytes (",
                                             batch.Describe(batch.first_seq()), ", ...)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> NetlinkSocket::Receive(bool dont_wait) {
  for (int i = 0; i < kMaxForeignDatagrams; ++i) {
    sockaddr_nl from{};
    socklen_t from_len = sizeof(from);
    // MSG_TRUNC returns the datagram's full length, so truncation shows.
    const ssize_t n = recvfrom(mnl_socket_get_fd(sock_.get()), rx_.data(), rx_.size(),
                               MSG_TRUNC | (dont_wait ? MSG_DONTWAIT : 0),
                               reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      return ErrnoToStatus(errno, "receiving netlink reply");
    }
    if (!FromKernel(from, from_len)) continue;
    if (static_cast<size_t>(n) > rx_.size()) {
      return absl::InternalError(absl::StrCat("netlink reply of ", n, " bytes exceeds the ",
                                              rx_.size(), "-byte receive buffer"));
    }
    return static_cast<size_t>(n);
  }
  return 0;
}

absl::StatusOr<std::unique_ptr<NetlinkSocket>> NetlinkSocket::Subscribe(
    int bus, std::initializer_list<unsigned> groups, size_t buffer_bytes) {
  absl::StatusOr<std::unique_ptr<NetlinkSocket>> socket = Open(bus);
  if (!socket.ok()) return socket.status();
  const int fd = (*socket)->fd();
  if (buffer_bytes != 0) GrowBuffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, buffer_bytes);
  for (unsigned group : groups) {
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) != 0) {
      return ErrnoToStatus(errno, absl::StrCat("joining netlink group ", group));
    }
  }
  return socket;
}

NetlinkSocket::Drained NetlinkSocket::Drain(absl::FunctionRef<void(const nlmsghdr*)> on_message) {
  Drained out;
  for (int i = 0; i < kMaxDrainedDatagrams; ++i) {
    sockaddr_nl from{};
    socklen_t from_len = sizeof(from);
    const ssize_t n = recvfrom(fd(), rx_.data(), rx_.size(), MSG_DONTWAIT | MSG_TRUNC,
                               reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != ENOBUFS) break;  // EAGAIN: nothing more is queued
      // The queue is usable again; keep reading what is left.
      out.lost = true;
      continue;
    }
    if (!FromKernel(from, from_len)) continue;
    ++out.datagrams;
    // A truncated datagram yields the messages that fit.
    NetlinkMessageWalker walk(rx_.data(), std::min(static_cast<size_t>(n), rx_.size()));
    while (const nlmsghdr* nlh = walk.Next()) on_message(nlh);
  }
  return out;
}

absl::Status NetlinkSocket::Transact(const NetlinkBatch& batch) {
  if (absl::Status s = Send(batch); !s.ok()) return s;
  struct Failure {
    uint32_t seq;
    int error;
    ExtAck ext;
  };
  std::vector<Failure> failures;
  size_t acked = 0;
  for (int i = 0; i < kMaxReceives && acked < batch.acks_expected(); ++i) {
    // After a failure the kernel may abort the batch without ACKing the
    // rest, so only drain what is already queued.
    absl::StatusOr<size_t> n = Receive(/*dont_wait=*/!failures.empty());
    if (!n.ok()) return n.status();
    if (*n == 0) {
      if (!failures.empty()) break;
      return absl::DeadlineExceededError(absl::StrCat(
          "no ACK within ", kReceiveTimeoutSeconds, "s for ", batch.Describe(batch.first_seq()),
          " (", acked, " of ", batch.acks_expected(), " messages acknowledged)"));
    }
    NetlinkMessageWalker walk(rx_.data(), *n);
    while (const nlmsghdr* nlh = walk.Next()) {
      if (nlh->nlmsg_type != NLMSG_ERROR || !batch.Contains(nlh->nlmsg_seq)) {
        continue;  // not ours, or a stale reply from an earlier request
      }
      const nlmsgerr* err = ErrorPayload(nlh);
      if (err == nullptr) {
        return absl::InternalError(
            absl::StrCat("truncated ACK for ", batch.Describe(nlh->nlmsg_seq)));
      }
      ++acked;
      if (err->error != 0) {
        failures.push_back(Failure{nlh->nlmsg_seq, -err->error, ParseExtAck(nlh, err)});
      }
    }
    if (!walk.status().ok()) return walk.status();
  }
  if (failures.empty()) return absl::OkStatus();
  std::sort(failures.begin(), failures.end(),
            [](const Failure& a, const Failure& b) { return a.seq < b.seq; });
  const Failure& first = failures.front();
  std::string what = batch.Describe(first.seq, first.ext.offset);
  absl::Status status = ErrnoToStatus(first.error, what, batch.NeedsKernelFeature(first.seq));
  std::string message(status.message());
  if (!first.ext.message.empty()) {
    absl::StrAppend(&message, " [kernel: ", first.ext.message, "]");
  }
  if (failures.size() > 1) {
    absl::StrAppend(&message, "; ", failures.size() - 1, " more failing message(s), first: ",
                    batch.Describe(failures[1].seq, failures[1].ext.offset));
  }
  return absl::Status(status.code(), message);
}

absl::Status NetlinkSocket::Request(const NetlinkBatch& request,
                                    absl::FunctionRef<absl::Status(const nlmsghdr*)> on_message) {
  if (absl::Status s = Send(request); !s.ok()) return s;
  const bool dump = (request.message(0)->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  const uint32_t seq = request.first_seq();
  for (int i = 0; i < kMaxReceives; ++i) {
    absl::StatusOr<size_t> n = Receive(/*dont_wait=*/false);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("no reply within ", kReceiveTimeoutSeconds, "s to ", request.Describe(seq)));
    }
    NetlinkMessageWalker walk(rx_.data(), *n);
    while (const nlmsghdr* nlh = walk.Next()) {
      if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid_) continue;
      if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
        return absl::UnavailableError(
            absl::StrCat(request.Describe(seq), ": interrupted by a concurrent change"));
      }
      if (nlh->nlmsg_type == NLMSG_DONE) return absl::OkStatus();
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        const nlmsgerr* err = ErrorPayload(nlh);
        if (err == nullptr) {
          return absl::InternalError(
              absl::StrCat("truncated error reply to ", request.Describe(seq)));
        }
        if (err->error != 0) {
          return ErrnoToStatus(-err->error, request.Describe(seq));
        }
        if (!dump) return absl::OkStatus();
        continue;
      }
      if (absl::Status s = on_message(nlh); !s.ok()) return s;
    }
    if (!walk.status().ok()) return walk.status();
  }
  return absl::DeadlineExceededError(absl::StrCat(request.Describe(seq), ": reply never ended"));
}

}  // namespace ferry::agent
