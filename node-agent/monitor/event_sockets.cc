#include "node-agent/monitor/event_sockets.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ferry::agent {
namespace {

// Large enough for the notifications of a big batch (a flushed 100k-element
// table sends one message per set, not per element, but other software may
// be busy too). Overflow is not fatal: ENOBUFS schedules a full check.
constexpr int kReceiveBufferBytes = 4 * 1024 * 1024;
// Bound on datagrams read per Drain, so a flood cannot starve the checks.
constexpr int kMaxDatagramsPerDrain = 4096;

absl::Status SocketError(absl::string_view what) {
  return absl::Status(absl::StatusCode::kUnavailable, absl::StrCat(what, ": ", strerror(errno)));
}

absl::StatusOr<int> OpenNetlink(int bus) {
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, bus);
  if (fd < 0) return SocketError(absl::StrCat("opening netlink socket (bus ", bus, ")"));
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    absl::Status s = SocketError("binding netlink socket");
    close(fd);
    return s;
  }
  return fd;
}

}  // namespace

absl::StatusOr<MulticastSocket> MulticastSocket::Open(int bus,
                                                      const std::vector<unsigned>& groups) {
  absl::StatusOr<int> fd = OpenNetlink(bus);
  if (!fd.ok()) return fd.status();
  MulticastSocket sock(*fd);
  // SO_RCVBUFFORCE needs CAP_NET_ADMIN, which the agent has; fall back.
  if (setsockopt(*fd, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBufferBytes,
                 sizeof(kReceiveBufferBytes)) < 0) {
    setsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBufferBytes, sizeof(kReceiveBufferBytes));
  }
  for (unsigned group : groups) {
    if (setsockopt(*fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
      return SocketError(absl::StrCat("joining netlink group ", group, " (bus ", bus, ")"));
    }
  }
  return sock;
}

MulticastSocket::MulticastSocket(MulticastSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buf_(std::move(other.buf_)) {}

MulticastSocket& MulticastSocket::operator=(MulticastSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    buf_ = std::move(other.buf_);
  }
  return *this;
}

MulticastSocket::~MulticastSocket() {
  if (fd_ >= 0) close(fd_);
}

bool MulticastSocket::Drain(absl::FunctionRef<void(const nlmsghdr*, size_t)> on_message) {
  bool complete = true;
  for (int i = 0; i < kMaxDatagramsPerDrain; ++i) {
    const ssize_t n = recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        complete = false;
        continue;  // the queue is usable again; keep reading what is left
      }
      break;  // EAGAIN: drained
    }
    size_t left = static_cast<size_t>(n);
    const char* p = buf_.data();
    while (left >= NLMSG_HDRLEN) {
      const auto* nlh = reinterpret_cast<const nlmsghdr*>(p);
      if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > left) break;
      on_message(nlh, nlh->nlmsg_len);
      const size_t step = NLMSG_ALIGN(nlh->nlmsg_len);
      if (step >= left) break;
      p += step;
      left -= step;
    }
  }
  return complete;
}

absl::StatusOr<GenerationQuery> GenerationQuery::Open() {
  absl::StatusOr<int> fd = OpenNetlink(NETLINK_NETFILTER);
  if (!fd.ok()) return fd.status();
  return GenerationQuery(*fd);
}

GenerationQuery::GenerationQuery(GenerationQuery&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), seq_(other.seq_) {}

GenerationQuery& GenerationQuery::operator=(GenerationQuery&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    seq_ = other.seq_;
  }
  return *this;
}

GenerationQuery::~GenerationQuery() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<uint32_t> GenerationQuery::Current() {
  struct {
    nlmsghdr hdr;
    nfgenmsg gen;
  } request{};
  const uint32_t seq = seq_++;
  request.hdr.nlmsg_len = sizeof(request);
  request.hdr.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
  request.hdr.nlmsg_flags = NLM_F_REQUEST;
  request.hdr.nlmsg_seq = seq;
  request.gen.nfgen_family = AF_UNSPEC;
  request.gen.version = NFNETLINK_V0;
  if (send(fd_, &request, sizeof(request), 0) < 0) return SocketError("sending NFT_MSG_GETGEN");
  char buf[8192];
  // The reply is one small message; replies to older (timed-out) requests
  // are skipped by sequence number. Bounded in count and, by poll, in time.
  for (int attempt = 0; attempt < 16; ++attempt) {
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, 1000) <= 0) break;
    const ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return SocketError("reading NFT_MSG_GETGEN reply");
    }
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf);
    if (static_cast<size_t>(n) < NLMSG_HDRLEN || nlh->nlmsg_len > static_cast<size_t>(n) ||
        nlh->nlmsg_seq != seq) {
      continue;
    }
    if (nlh->nlmsg_type == NLMSG_ERROR) {
      return absl::UnavailableError("NFT_MSG_GETGEN failed");
    }
    const size_t start = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
    size_t off = start;
    while (off + sizeof(nlattr) <= nlh->nlmsg_len) {
      nlattr attr;
      std::memcpy(&attr, buf + off, sizeof(attr));
      if (attr.nla_len < sizeof(nlattr) || off + attr.nla_len > nlh->nlmsg_len) break;
      if ((attr.nla_type & NLA_TYPE_MASK) == NFTA_GEN_ID && attr.nla_len == sizeof(nlattr) + 4) {
        uint32_t id = 0;
        std::memcpy(&id, buf + off + sizeof(nlattr), sizeof(id));
        return ntohl(id);
      }
      off += NLA_ALIGN(attr.nla_len);
    }
    return absl::UnavailableError("NFT_MSG_GETGEN reply without NFTA_GEN_ID");
  }
  return absl::DeadlineExceededError("no reply to NFT_MSG_GETGEN within 1s");
}

}  // namespace ferry::agent
