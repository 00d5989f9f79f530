#include "node-agent/kernel/route_lookup.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "node-agent/kernel/netlink_walk.h"

namespace ferry::agent {
namespace {

constexpr size_t kLookupBytes = 128;

int FamilyOf(const IpAddress& a) { return a.is_v4() ? AF_INET : AF_INET6; }

std::string KernelInterfaceName(int index) {
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(static_cast<unsigned>(index), name) == nullptr) return "";
  return name;
}

// What `ip route get` calls a route type, for the types a lookup refuses.
std::string RouteTypeName(uint8_t type) {
  switch (type) {
    case RTN_BROADCAST:
      return "broadcast";
    case RTN_ANYCAST:
      return "anycast";
    case RTN_MULTICAST:
      return "multicast";
    case RTN_BLACKHOLE:
      return "blackhole";
    case RTN_UNREACHABLE:
      return "unreachable";
    case RTN_PROHIBIT:
      return "prohibit";
    default:
      return absl::StrCat("type ", static_cast<int>(type));
  }
}

}  // namespace

NetlinkBatch BuildRouteLookup(const IpAddress& destination, uint32_t seq) {
  NetlinkBatch batch(seq);
  batch.Append(
      kLookupBytes,
      [&](char* buf, uint32_t s) {
        nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETROUTE;
        // No NLM_F_DUMP: the kernel resolves this one destination as a
        // packet to it would be, rules and all, instead of listing tables.
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = s;
        auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
        rtm->rtm_family = FamilyOf(destination);
        rtm->rtm_dst_len = static_cast<uint8_t>(destination.size() * 8);
        mnl_attr_put(nlh, RTA_DST, destination.size(), destination.data());
        return nlh;
      },
      absl::StrCat("looking up the route to ", destination.ToString()));
  return batch;
}

absl::StatusOr<RouteLookupReply> ParseRouteLookupReply(const nlmsghdr* nlh, size_t len,
                                                       const IpAddress& destination) {
  const std::string what = absl::StrCat("route to ", destination.ToString());
  if (len < sizeof(nlmsghdr) || nlh->nlmsg_len < sizeof(nlmsghdr) || nlh->nlmsg_len > len) {
    return absl::InternalError(absl::StrCat(what, ": truncated reply"));
  }
  if (nlh->nlmsg_type != RTM_NEWROUTE) {
    return absl::InternalError(
        absl::StrCat(what, ": reply of netlink type ", nlh->nlmsg_type, ", not RTM_NEWROUTE"));
  }
  const auto* rtm = static_cast<const rtmsg*>(MessagePayload(nlh, sizeof(rtmsg)));
  if (rtm == nullptr) return absl::InternalError(absl::StrCat(what, ": truncated reply"));
  if (rtm->rtm_family != FamilyOf(destination)) {
    return absl::InternalError(absl::StrCat(what, ": reply of address family ", rtm->rtm_family));
  }
  // A local destination is this node's own address; its route (via lo)
  // still has a source, as `ip route get` shows.
  if (rtm->rtm_type != RTN_UNICAST && rtm->rtm_type != RTN_LOCAL) {
    return absl::FailedPreconditionError(absl::StrCat(what, " is a ", RouteTypeName(rtm->rtm_type),
                                                      " route, not one to a single host"));
  }
  std::optional<IpAddress> source;
  std::optional<int> oif;
  AttributeWalker walk(MessageAttributes(nlh, sizeof(rtmsg)));
  while (const nlattr* attr = walk.Next()) {
    const absl::string_view value = AttributePayload(attr);
    switch (AttributeType(attr)) {
      case RTA_PREFSRC:
        if (value.size() == destination.size()) {
          source = IpAddress::FromBytes(destination.family(),
                                        reinterpret_cast<const uint8_t*>(value.data()));
        }
        break;
      case RTA_OIF:
        if (value.size() == sizeof(uint32_t)) {
          uint32_t index = 0;
          std::memcpy(&index, value.data(), sizeof(index));
          oif = static_cast<int>(index);
        }
        break;
    }
  }
  if (walk.malformed()) {
    return absl::InternalError(absl::StrCat(what, ": malformed attributes in the reply"));
  }
  if (!oif.has_value() || *oif <= 0) {
    return absl::FailedPreconditionError(absl::StrCat(what, " has no output interface"));
  }
  if (!source.has_value()) {
    // IPv4 leaves RTA_PREFSRC out when no address of the output interface
    // (or of the node) can be the source.
    return absl::FailedPreconditionError(absl::StrCat(
        what, " (interface index ", *oif, ") has no source address: give the interface an ",
        destination.is_v4() ? "IPv4" : "IPv6", " address or the route a `src`"));
  }
  return RouteLookupReply{*source, *oif};
}

std::string RouteInterfaceName(int index, const std::string& name) {
  // A proto string must be UTF-8, and a Linux name is at most IFNAMSIZ-1
  // printable bytes.
  bool printable = !name.empty() && name.size() < IFNAMSIZ;
  for (char c : name) printable = printable && c > ' ' && c <= '~';
  return printable ? name : absl::StrCat("if", index);
}

absl::StatusOr<std::unique_ptr<NetlinkRouteLookup>> NetlinkRouteLookup::Open(
    InterfaceNames interface_names) {
  absl::StatusOr<std::unique_ptr<NetlinkSocket>> socket = NetlinkSocket::Open(NETLINK_ROUTE);
  if (!socket.ok()) return socket.status();
  if (!interface_names) interface_names = KernelInterfaceName;
  return std::unique_ptr<NetlinkRouteLookup>(
      new NetlinkRouteLookup(*std::move(socket), std::move(interface_names)));
}

NetlinkRouteLookup::NetlinkRouteLookup(std::unique_ptr<NetlinkSocket> socket,
                                       InterfaceNames interface_names)
    : interface_names_(std::move(interface_names)), socket_(std::move(socket)) {}

absl::StatusOr<ferry::v1::RouteSource> NetlinkRouteLookup::Get(const IpAddress& destination) {
  std::optional<absl::StatusOr<RouteLookupReply>> reply;
  {
    absl::MutexLock lock(&mu_);
    absl::Status status = socket_->Request(
        BuildRouteLookup(destination, socket_->next_seq()), [&](const nlmsghdr* nlh) {
          // The first answer is the one.
          if (!reply.has_value()) {
            reply = ParseRouteLookupReply(nlh, nlh->nlmsg_len, destination);
          }
          return absl::OkStatus();
        });
    if (!status.ok()) return status;
  }
  if (!reply.has_value()) {
    return absl::InternalError(
        absl::StrCat("route to ", destination.ToString(), ": the kernel sent no route"));
  }
  if (!reply->ok()) return reply->status();
  ferry::v1::RouteSource out;
  out.set_destination(destination.ToString());
  out.set_source((*reply)->source.ToString());
  out.set_interface(
      RouteInterfaceName((*reply)->interface_index, interface_names_((*reply)->interface_index)));
  return out;
}

}  // namespace ferry::agent
