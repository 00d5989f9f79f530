#include "node-agent/client/address_monitor.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"

namespace ferry::agent {
namespace {

struct MnlSocketCloser {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using MnlSocket = std::unique_ptr<mnl_socket, MnlSocketCloser>;

constexpr size_t kBufferSize = 32768;
constexpr int kDumpAttempts = 3;

absl::Status ErrnoError(absl::string_view what) {
  const int err = errno;
  return absl::Status(err == EPERM || err == EACCES ? absl::StatusCode::kPermissionDenied
                                                    : absl::StatusCode::kInternal,
                      absl::StrCat(what, ": ", std::strerror(err)));
}

absl::StatusOr<MnlSocket> OpenRouteSocket(unsigned groups) {
  MnlSocket socket(mnl_socket_open(NETLINK_ROUTE));
  if (!socket) return ErrnoError("opening rtnetlink socket");
  if (mnl_socket_bind(socket.get(), groups, MNL_SOCKET_AUTOPID) < 0) {
    return ErrnoError("binding rtnetlink socket");
  }
  return socket;
}

struct ParsedAttrs {
  const nlattr* table[IFA_MAX + 1] = {};
};

int AttrCallback(const nlattr* attr, void* data) {
  if (mnl_attr_type_valid(attr, IFA_MAX) < 0) return MNL_CB_OK;
  static_cast<ParsedAttrs*>(data)->table[mnl_attr_get_type(attr)] = attr;
  return MNL_CB_OK;
}

int AddressCallback(const nlmsghdr* nlh, void* data) {
  auto* out = static_cast<std::vector<ferry::v1::NodeAddress>*>(data);
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  ParsedAttrs attrs;
  if (mnl_attr_parse(nlh, sizeof(*ifa), AttrCallback, &attrs) < 0) return MNL_CB_OK;
  // On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours.
  const nlattr* attr = attrs.table[IFA_LOCAL] ? attrs.table[IFA_LOCAL] : attrs.table[IFA_ADDRESS];
  if (attr == nullptr) return MNL_CB_OK;
  const uint16_t len = mnl_attr_get_payload_len(attr);
  const auto* bytes = static_cast<const uint8_t*>(mnl_attr_get_payload(attr));
  IpAddress address;
  if (ifa->ifa_family == AF_INET && len == 4) {
    address = IpAddress::FromBytes(Family::kIPv4, bytes);
  } else if (ifa->ifa_family == AF_INET6 && len == 16) {
    address = IpAddress::FromBytes(Family::kIPv6, bytes);
  } else {
    return MNL_CB_OK;
  }
  if (!IsReportableAddress(address)) return MNL_CB_OK;
  ferry::v1::NodeAddress node_address;
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(ifa->ifa_index, name) != nullptr) {
    node_address.set_interface(name);
  } else if (attrs.table[IFA_LABEL] != nullptr) {
    node_address.set_interface(mnl_attr_get_str(attrs.table[IFA_LABEL]));
  } else {
    node_address.set_interface(absl::StrCat("if", ifa->ifa_index));
  }
  node_address.set_address(address.ToString());
  node_address.set_prefix_length(ifa->ifa_prefixlen);
  out->push_back(std::move(node_address));
  return MNL_CB_OK;
}

auto SortKey(const ferry::v1::NodeAddress& a) {
  return std::make_tuple(a.interface(), a.address(), a.prefix_length());
}

bool SameAddresses(const std::vector<ferry::v1::NodeAddress>& a,
                   const std::vector<ferry::v1::NodeAddress>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) { return SortKey(x) == SortKey(y); });
}

// One dump attempt. ABORTED means the kernel's list changed mid-dump
// (NLM_F_DUMP_INTR): the caller retries.
absl::StatusOr<std::vector<ferry::v1::NodeAddress>> DumpOnce() {
  absl::StatusOr<MnlSocket> socket = OpenRouteSocket(0);
  if (!socket.ok()) return socket.status();
  // A dump must never hang the agent.
  timeval timeout{5, 0};
  setsockopt(mnl_socket_get_fd(socket->get()), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::vector<char> buf(kBufferSize);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_GETADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  const uint32_t seq = 1;
  nlh->nlmsg_seq = seq;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_UNSPEC;
  if (mnl_socket_sendto(socket->get(), nlh, nlh->nlmsg_len) < 0) {
    return ErrnoError("sending RTM_GETADDR dump");
  }
  const uint32_t portid = mnl_socket_get_portid(socket->get());
  std::vector<ferry::v1::NodeAddress> out;
  while (true) {
    ssize_t n = mnl_socket_recvfrom(socket->get(), buf.data(), buf.size());
    if (n < 0) return ErrnoError("reading RTM_GETADDR dump");
    int ret = mnl_cb_run(buf.data(), n, seq, portid, AddressCallback, &out);
    if (ret < 0 && errno == EINTR) {
      return absl::AbortedError("address list changed during the dump");
    }
    if (ret < 0) return ErrnoError("parsing RTM_GETADDR dump");
    if (ret == MNL_CB_STOP) break;
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return SortKey(a) < SortKey(b); });
  return out;
}

// Reads whatever is queued without blocking; the content does not matter.
void Drain(int fd) {
  char buf[kBufferSize];
  for (int i = 0; i < 1024; ++i) {
    if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno != ENOBUFS) return;
  }
}

}  // namespace

bool IsReportableAddress(const IpAddress& address) {
  const uint8_t* b = address.data();
  if (address.is_v4()) return b[0] != 127;
  static const uint8_t kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (std::memcmp(b, kLoopback6, 16) == 0) return false;
  const bool link_local = b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
  return !link_local;
}

absl::StatusOr<std::vector<ferry::v1::NodeAddress>> DumpNodeAddresses() {
  absl::StatusOr<std::vector<ferry::v1::NodeAddress>> result;
  for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
    result = DumpOnce();
    if (!absl::IsAborted(result.status())) break;
  }
  return result;
}

AddressMonitor::AddressMonitor(Callback on_change, absl::Duration quiet)
    : on_change_(std::move(on_change)), quiet_(quiet) {}

AddressMonitor::~AddressMonitor() { Stop(); }

absl::Status AddressMonitor::Start() {
  // Subscribe before the first dump so no change falls between the two.
  absl::StatusOr<MnlSocket> socket = OpenRouteSocket(RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);
  if (!socket.ok()) return socket.status();
  absl::StatusOr<std::vector<ferry::v1::NodeAddress>> addresses = DumpNodeAddresses();
  if (!addresses.ok()) return addresses.status();
  event_fd_ = eventfd(0, EFD_CLOEXEC);
  if (event_fd_ < 0) return ErrnoError("creating eventfd");
  {
    absl::MutexLock lock(&mu_);
    current_ = *std::move(addresses);
  }
  socket_ = socket->release();
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void AddressMonitor::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    if (write(event_fd_, &one, sizeof(one)) < 0) {
      LogWarning("signalling the address monitor to stop", {{"error", std::strerror(errno)}});
    }
    thread_.join();
  }
  if (socket_ != nullptr) {
    mnl_socket_close(socket_);
    socket_ = nullptr;
  }
  if (event_fd_ >= 0) {
    close(event_fd_);
    event_fd_ = -1;
  }
}

std::vector<ferry::v1::NodeAddress> AddressMonitor::current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

void AddressMonitor::Run() {
  pollfd fds[2] = {{mnl_socket_get_fd(socket_), POLLIN, 0}, {event_fd_, POLLIN, 0}};
  const int quiet_ms = static_cast<int>(absl::ToInt64Milliseconds(quiet_));
  // Even a constant stream of events must not postpone the dump forever.
  constexpr int kMaxCoalesceRounds = 20;
  while (true) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LogError("address monitor poll failed; addresses are no longer tracked",
               {{"error", std::strerror(errno)}});
      return;
    }
    if (fds[1].revents != 0) return;
    Drain(fds[0].fd);
    for (int round = 0; round < kMaxCoalesceRounds; ++round) {
      int ready = poll(fds, 2, quiet_ms);
      if (ready < 0 && errno != EINTR) break;
      if (fds[1].revents != 0) return;
      if (ready == 0) break;
      Drain(fds[0].fd);
    }
    absl::StatusOr<std::vector<ferry::v1::NodeAddress>> addresses = DumpNodeAddresses();
    if (!addresses.ok()) {
      LogWarning("dumping addresses", {{"error", std::string(addresses.status().message())}});
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      if (SameAddresses(current_, *addresses)) continue;
      current_ = *addresses;
    }
    LogDebug("addresses changed", {{"count", absl::StrCat(addresses->size())}});
    on_change_(*addresses);
  }
}

}  // namespace ferry::agent
