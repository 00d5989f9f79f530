#include "node-agent/kernel/rtnl_messages.h"

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/lib/protocol.h"
#include "node-agent/kernel/route_backend.h"

namespace ferry::agent::rtnl {
namespace {

constexpr size_t kMessageBytes = 512;

int FamilyOf(const IpAddress& a) { return a.is_v4() ? AF_INET : AF_INET6; }

// Table ids above 255 do not fit the 8-bit header field; RTA_TABLE /
// FRA_TABLE carry the full id and the header says RT_TABLE_UNSPEC.
uint8_t HeaderTable(uint32_t table) {
  return table < 256 ? static_cast<uint8_t>(table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
}

// A dump request. rtmsg, fib_rule_hdr and ifaddrmsg all start with the
// family byte, the only field a dump sets.
NetlinkBatch Dump(uint16_t type, size_t header_len, int family, uint32_t seq,
                  std::string description) {
  NetlinkBatch batch(seq);
  batch.Append(
      kMessageBytes,
      [&](char* buf, uint32_t s) {
        nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        nlh->nlmsg_seq = s;
        *static_cast<uint8_t*>(mnl_nlmsg_put_extra_header(nlh, header_len)) = family;
        return nlh;
      },
      std::move(description));
  return batch;
}

std::string Listing(int family, absl::string_view what) {
  return absl::StrCat("listing ", family == AF_INET ? "IPv4 " : "IPv6 ", what);
}

// Attribute table of one message, by type, after its fixed header.
constexpr int kMaxAttr = static_cast<int>(FRA_MAX) > static_cast<int>(RTA_MAX) ? FRA_MAX : RTA_MAX;
struct Attrs {
  const nlattr* by_type[kMaxAttr + 1] = {};
};

Attrs ParseAttrs(const nlmsghdr* nlh, size_t header_len) {
  Attrs attrs;
  mnl_attr_parse(
      nlh, header_len,
      [](const nlattr* attr, void* data) -> int {
        auto* out = static_cast<Attrs*>(data);
        const uint16_t type = mnl_attr_get_type(attr);
        if (type < sizeof(out->by_type) / sizeof(out->by_type[0])) {
          out->by_type[type] = attr;
        }
        return MNL_CB_OK;
      },
      &attrs);
  return attrs;
}

std::optional<IpAddress> AddressAttr(const nlattr* attr, int family) {
  if (attr == nullptr) return std::nullopt;
  const size_t want = family == AF_INET ? 4 : 16;
  if (mnl_attr_get_payload_len(attr) != want) return std::nullopt;
  return IpAddress::FromBytes(family == AF_INET ? Family::kIPv4 : Family::kIPv6,
                              static_cast<const uint8_t*>(mnl_attr_get_payload(attr)));
}

uint32_t U32Attr(const nlattr* attr, uint32_t fallback) {
  if (attr == nullptr || mnl_attr_get_payload_len(attr) < 4) return fallback;
  return mnl_attr_get_u32(attr);
}

}  // namespace

std::string DescribeRoute(const TableRoute& route) {
  return absl::StrCat("default via ", route.via.ToString(), " table ", route.table);
}

std::string DescribeRule(const PolicyRule& rule) {
  std::string out = absl::StrCat("from ", rule.src.ToString());
  if (rule.proto != 0) absl::StrAppend(&out, " ipproto ", ferry::api::IpProtocolName(rule.proto));
  if (rule.sport_lo != 0 || rule.sport_hi != 0) {
    absl::StrAppend(&out, " sport ", rule.sport_lo);
    if (rule.sport_hi != rule.sport_lo) absl::StrAppend(&out, "-", rule.sport_hi);
  }
  if (rule.fwmask != 0) {
    absl::StrAppend(&out, absl::StrFormat(" fwmark %#x/%#x", rule.fwmark, rule.fwmask));
  }
  absl::StrAppend(&out, " lookup ", rule.table, " priority ", rule.priority);
  return out;
}

NetlinkBatch BuildRouteMessage(bool add, const TableRoute& route, uint32_t seq) {
  NetlinkBatch batch(seq);
  batch.Append(
      kMessageBytes,
      [&](char* buf, uint32_t s) {
        nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
        nlh->nlmsg_seq = s;
        auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
        rtm->rtm_family = FamilyOf(route.via);
        rtm->rtm_dst_len = 0;
        rtm->rtm_table = HeaderTable(route.table);
        rtm->rtm_protocol = kFerryRouteProtocol;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        mnl_attr_put_u32(nlh, RTA_TABLE, route.table);
        mnl_attr_put(nlh, RTA_GATEWAY, route.via.size(), route.via.data());
        return nlh;
      },
      absl::StrCat(add ? "adding route " : "deleting route ", DescribeRoute(route)));
  return batch;
}

NetlinkBatch BuildRuleMessage(bool add, const PolicyRule& rule, uint32_t seq) {
  NetlinkBatch batch(seq);
  batch.Append(
      kMessageBytes,
      [&](char* buf, uint32_t s) {
        nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = add ? RTM_NEWRULE : RTM_DELRULE;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
        nlh->nlmsg_seq = s;
        auto* frh =
            static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
        frh->family = FamilyOf(rule.src);
        frh->src_len = rule.src.size() * 8;
        frh->table = HeaderTable(rule.table);
        frh->action = FR_ACT_TO_TBL;
        mnl_attr_put(nlh, FRA_SRC, rule.src.size(), rule.src.data());
        mnl_attr_put_u32(nlh, FRA_PRIORITY, rule.priority);
        mnl_attr_put_u32(nlh, FRA_TABLE, rule.table);
        mnl_attr_put_u8(nlh, FRA_PROTOCOL, kFerryRouteProtocol);
        if (rule.proto != 0) mnl_attr_put_u8(nlh, FRA_IP_PROTO, rule.proto);
        if (rule.sport_lo != 0 || rule.sport_hi != 0) {
          fib_rule_port_range range{rule.sport_lo, rule.sport_hi};
          mnl_attr_put(nlh, FRA_SPORT_RANGE, sizeof(range), &range);
        }
        if (rule.fwmask != 0) {
          mnl_attr_put_u32(nlh, FRA_FWMARK, rule.fwmark);
          mnl_attr_put_u32(nlh, FRA_FWMASK, rule.fwmask);
        }
        return nlh;
      },
      absl::StrCat(add ? "adding rule " : "deleting rule ", DescribeRule(rule)));
  return batch;
}

NetlinkBatch BuildRouteDump(int family, uint32_t seq) {
  return Dump(RTM_GETROUTE, sizeof(rtmsg), family, seq, Listing(family, "routes"));
}

NetlinkBatch BuildRuleDump(int family, uint32_t seq) {
  return Dump(RTM_GETRULE, sizeof(fib_rule_hdr), family, seq, Listing(family, "policy rules"));
}

NetlinkBatch BuildAddressDump(uint32_t seq) {
  return Dump(RTM_GETADDR, sizeof(ifaddrmsg), AF_UNSPEC, seq, "listing addresses");
}

std::optional<TableRoute> ParseRoute(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(rtmsg)) {
    return std::nullopt;
  }
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  if (rtm->rtm_protocol != kFerryRouteProtocol || rtm->rtm_dst_len != 0) {
    return std::nullopt;
  }
  const Attrs attrs = ParseAttrs(nlh, sizeof(rtmsg));
  std::optional<IpAddress> via = AddressAttr(attrs.by_type[RTA_GATEWAY], rtm->rtm_family);
  if (!via.has_value()) return std::nullopt;
  return TableRoute{U32Attr(attrs.by_type[RTA_TABLE], rtm->rtm_table), *via};
}

std::optional<PolicyRule> ParseRule(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWRULE || mnl_nlmsg_get_payload_len(nlh) < sizeof(fib_rule_hdr)) {
    return std::nullopt;
  }
  const auto* frh = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(nlh));
  const Attrs attrs = ParseAttrs(nlh, sizeof(fib_rule_hdr));
  const nlattr* proto = attrs.by_type[FRA_PROTOCOL];
  if (proto == nullptr || mnl_attr_get_u8(proto) != kFerryRouteProtocol) {
    return std::nullopt;
  }
  std::optional<IpAddress> src = AddressAttr(attrs.by_type[FRA_SRC], frh->family);
  if (!src.has_value()) return std::nullopt;
  PolicyRule rule;
  rule.src = *src;
  rule.table = U32Attr(attrs.by_type[FRA_TABLE], frh->table);
  rule.priority = U32Attr(attrs.by_type[FRA_PRIORITY], 0);
  if (const nlattr* a = attrs.by_type[FRA_IP_PROTO])
    rule.proto = mnl_attr_get_u8(a);
  else
    rule.proto = 0;
  if (const nlattr* a = attrs.by_type[FRA_SPORT_RANGE];
      a != nullptr && mnl_attr_get_payload_len(a) >= sizeof(fib_rule_port_range)) {
    fib_rule_port_range range;
    std::memcpy(&range, mnl_attr_get_payload(a), sizeof(range));
    rule.sport_lo = range.start;
    rule.sport_hi = range.end;
  }
  // The kernel echoes a mask with any mark (all ones if none was given).
  rule.fwmark = U32Attr(attrs.by_type[FRA_FWMARK], 0);
  rule.fwmask = U32Attr(attrs.by_type[FRA_FWMASK], rule.fwmark != 0 ? 0xffffffff : 0);
  return rule;
}

std::optional<TableRoute> ParseOwnRoute(const nlmsghdr* nlh, const RouteTableOptions& tables) {
  std::optional<TableRoute> route = ParseRoute(nlh);
  if (!route.has_value() || !InTableRange(route->table, tables)) return std::nullopt;
  return route;
}

std::optional<PolicyRule> ParseOwnRule(const nlmsghdr* nlh, const RouteTableOptions& tables) {
  std::optional<PolicyRule> rule = ParseRule(nlh);
  if (!rule.has_value() || !InTableRange(rule->table, tables)) return std::nullopt;
  return rule;
}

}  // namespace ferry::agent::rtnl
