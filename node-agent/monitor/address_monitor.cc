#include "node-agent/monitor/address_monitor.h"

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
#include "node-agent/kernel/errno_status.h"
#include "node-agent/kernel/netlink_walk.h"
#include "node-agent/kernel/rtnl_messages.h"

namespace ferry::agent {
namespace {

constexpr int kDumpAttempts = 3;

// Interface names are reported to the controller as proto strings, which
// must be UTF-8: keep a label only if it is printable ASCII.
bool IsPrintableName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

std::string KernelInterfaceName(int index) {
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(static_cast<unsigned>(index), name) == nullptr) return "";
  return name;
}

auto SortKey(const ferry::v1::NodeAddress& a) {
  return std::make_tuple(a.interface(), a.address(), a.prefix_length());
}

bool SameAddresses(const std::vector<ferry::v1::NodeAddress>& a,
                   const std::vector<ferry::v1::NodeAddress>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) { return SortKey(x) == SortKey(y); });
}

// One dump attempt, on a socket of its own (the monitor's receives
// notifications). UNAVAILABLE means the kernel's list changed mid-dump
// (NLM_F_DUMP_INTR): the caller retries.
absl::StatusOr<std::vector<ferry::v1::NodeAddress>> DumpOnce() {
  absl::StatusOr<std::unique_ptr<NetlinkSocket>> socket = NetlinkSocket::Open(NETLINK_ROUTE);
  if (!socket.ok()) return socket.status();
  std::vector<ferry::v1::NodeAddress> out;
  absl::Status status = (*socket)->Request(
      rtnl::BuildAddressDump((*socket)->next_seq()), [&out](const nlmsghdr* msg) {
        if (std::optional<ferry::v1::NodeAddress> address =
                ParseAddressMessage(msg, msg->nlmsg_len, KernelInterfaceName)) {
          out.push_back(*std::move(address));
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return SortKey(a) < SortKey(b); });
  return out;
}

}  // namespace

std::optional<ferry::v1::NodeAddress> ParseAddressMessage(
    const nlmsghdr* nlh, size_t len, const std::function<std::string(int)>& ifname) {
  if (len < sizeof(nlmsghdr) || nlh->nlmsg_len < sizeof(nlmsghdr) || nlh->nlmsg_len > len) {
    return std::nullopt;
  }
  if (nlh->nlmsg_type != RTM_NEWADDR) return std::nullopt;
  const auto* ifa = static_cast<const ifaddrmsg*>(MessagePayload(nlh, sizeof(ifaddrmsg)));
  if (ifa == nullptr) return std::nullopt;
  std::optional<absl::string_view> local, peer;
  absl::string_view label;
  AttributeWalker walk(MessageAttributes(nlh, sizeof(ifaddrmsg)));
  while (const nlattr* attr = walk.Next()) {
    switch (AttributeType(attr)) {
      case IFA_LOCAL:
        local = AttributePayload(attr);
        break;
      case IFA_ADDRESS:
        peer = AttributePayload(attr);
        break;
      case IFA_LABEL:
        // NUL-terminated in the kernel's dumps; bounded here regardless, to
        // the longest interface name.
        label = AttributePayload(attr);
        label =
            label.substr(0, strnlen(label.data(), std::min<size_t>(label.size(), IFNAMSIZ - 1)));
        break;
    }
  }
  if (walk.malformed()) return std::nullopt;
  // On point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is ours.
  const std::optional<absl::string_view> bytes = local ? local : peer;
  if (!bytes.has_value()) return std::nullopt;
  const auto* data = reinterpret_cast<const uint8_t*>(bytes->data());
  IpAddress address;
  if (ifa->ifa_family == AF_INET && bytes->size() == 4 && ifa->ifa_prefixlen <= 32) {
    address = IpAddress::FromBytes(Family::kIPv4, data);
  } else if (ifa->ifa_family == AF_INET6 && bytes->size() == 16 && ifa->ifa_prefixlen <= 128) {
    address = IpAddress::FromBytes(Family::kIPv6, data);
  } else {
    return std::nullopt;
  }
  if (!IsReportableAddress(address)) return std::nullopt;
  ferry::v1::NodeAddress node_address;
  if (std::string name = ifname(static_cast<int>(ifa->ifa_index)); IsPrintableName(name)) {
    node_address.set_interface(std::move(name));
  } else if (IsPrintableName(label)) {
    node_address.set_interface(std::string(label));
  } else {
    node_address.set_interface(absl::StrCat("if", ifa->ifa_index));
  }
  node_address.set_address(address.ToString());
  node_address.set_prefix_length(ifa->ifa_prefixlen);
  return node_address;
}

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
    if (!absl::IsUnavailable(result.status())) break;
  }
  return result;
}

AddressMonitor::AddressMonitor(Callback on_change, absl::Duration quiet)
    : on_change_(std::move(on_change)), quiet_(quiet) {}

AddressMonitor::~AddressMonitor() { Stop(); }

absl::Status AddressMonitor::Start() {
  // Subscribe before the first dump so no change falls between the two.
  absl::StatusOr<std::unique_ptr<NetlinkSocket>> socket =
      NetlinkSocket::Subscribe(NETLINK_ROUTE, {RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR});
  if (!socket.ok()) return socket.status();
  absl::StatusOr<std::vector<ferry::v1::NodeAddress>> addresses = DumpNodeAddresses();
  if (!addresses.ok()) return addresses.status();
  event_fd_ = eventfd(0, EFD_CLOEXEC);
  if (event_fd_ < 0) return ErrnoToStatus(errno, "creating eventfd");
  {
    absl::MutexLock lock(&mu_);
    current_ = *std::move(addresses);
  }
  events_ = *std::move(socket);
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
  events_.reset();
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
  pollfd fds[2] = {{events_->fd(), POLLIN, 0}, {event_fd_, POLLIN, 0}};
  // The content does not matter, only whether the kernel sent any (lost
  // notifications are themselves a reason to re-dump).
  auto drain = [this] {
    const NetlinkSocket::Drained drained = events_->Drain([](const nlmsghdr*) {});
    return drained.datagrams > 0 || drained.lost;
  };
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
    bool from_kernel = drain();
    for (int round = 0; round < kMaxCoalesceRounds; ++round) {
      int ready = poll(fds, 2, quiet_ms);
      if (ready < 0 && errno != EINTR) break;
      if (fds[1].revents != 0) return;
      if (ready == 0) break;
      from_kernel = drain() || from_kernel;
    }
    // Datagrams from other senders are no reason to re-dump.
    if (!from_kernel) continue;
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
