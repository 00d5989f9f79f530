#include "node-agent/monitor/kernel_events.h"

// glibc's <arpa/inet.h> must come before <linux/netfilter.h>, which
// would otherwise define struct in_addr itself.
#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/netconf.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "node-agent/kernel/netlink_walk.h"
#include "node-agent/kernel/route_backend.h"

namespace ferry::agent {
namespace {

constexpr absl::string_view kTableName = "ferry";
// Every nf_tables object message names its table in attribute 1
// (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_SET_TABLE, NFTA_RULE_TABLE, ...).
constexpr uint16_t kTableAttr = 1;

// The attribute area behind the header and a fixed `extra`-byte family
// header, once the message lies whole inside the `len` bytes it came in.
bool Attributes(const nlmsghdr* nlh, size_t len, size_t extra, absl::string_view* attrs) {
  if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN + extra || nlh->nlmsg_len > len) {
    return false;
  }
  *attrs = MessageAttributes(nlh, extra);
  return true;
}

// Calls `fn(type, payload)` for each attribute, stopping at the first
// malformed one (the kernel layer's bounds-checked walk).
template <typename Fn>
void ForEachAttr(absl::string_view attrs, Fn fn) {
  AttributeWalker walk(attrs);
  while (const nlattr* attr = walk.Next()) fn(AttributeType(attr), AttributePayload(attr));
}

uint32_t U32(absl::string_view v, bool big_endian) {
  uint32_t x = 0;
  if (v.size() != sizeof(x)) return 0;
  std::memcpy(&x, v.data(), sizeof(x));
  return big_endian ? ntohl(x) : x;
}

}  // namespace

NftEvent ClassifyNftMessage(const nlmsghdr* nlh, size_t len) {
  NftEvent event;
  absl::string_view attrs;
  if (!Attributes(nlh, len, sizeof(nfgenmsg), &attrs)) return event;
  if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES) return event;
  const int type = nlh->nlmsg_type & 0xff;
  if (type == NFT_MSG_NEWGEN) {
    event.kind = NftEvent::Kind::kGeneration;
    ForEachAttr(attrs, [&](uint16_t attr, absl::string_view v) {
      if (attr == NFTA_GEN_ID) event.generation = U32(v, /*big_endian=*/true);
      if (attr == NFTA_GEN_PROC_PID) event.pid = U32(v, /*big_endian=*/true);
    });
    return event;
  }
  nfgenmsg gen;
  std::memcpy(&gen, reinterpret_cast<const char*>(nlh) + NLMSG_HDRLEN, sizeof(gen));
  if (gen.nfgen_family != NFPROTO_INET) return event;
  ForEachAttr(attrs, [&](uint16_t attr, absl::string_view v) {
    if (attr != kTableAttr) return;
    // NLA_STRING payloads carry a trailing NUL.
    if (!v.empty() && v.back() == '\0') v.remove_suffix(1);
    // A change to the return marks' table (kernel_state.h) is drift of the
    // return paths, which a check reads with the rules and routes.
    if (v == kTableName || v == kReturnTableName) event.kind = NftEvent::Kind::kOurTable;
  });
  return event;
}

bool IsOurRouteMessage(const nlmsghdr* nlh, size_t len, const RouteTableOptions& tables) {
  absl::string_view attrs;
  switch (nlh->nlmsg_type) {
    case RTM_NEWRULE:
    case RTM_DELRULE: {
      if (!Attributes(nlh, len, sizeof(fib_rule_hdr), &attrs)) return false;
      fib_rule_hdr hdr;
      std::memcpy(&hdr, reinterpret_cast<const char*>(nlh) + NLMSG_HDRLEN, sizeof(hdr));
      bool ours = InTableRange(hdr.table, tables);
      ForEachAttr(attrs, [&](uint16_t attr, absl::string_view v) {
        if (attr == FRA_PROTOCOL && v.size() == 1 &&
            static_cast<uint8_t>(v[0]) == kFerryRouteProtocol) {
          ours = true;
        }
        if (attr == FRA_TABLE && InTableRange(U32(v, false), tables)) ours = true;
      });
      return ours;
    }
    case RTM_NEWROUTE:
    case RTM_DELROUTE: {
      if (!Attributes(nlh, len, sizeof(rtmsg), &attrs)) return false;
      rtmsg rtm;
      std::memcpy(&rtm, reinterpret_cast<const char*>(nlh) + NLMSG_HDRLEN, sizeof(rtm));
      bool ours = rtm.rtm_protocol == kFerryRouteProtocol || InTableRange(rtm.rtm_table, tables);
      ForEachAttr(attrs, [&](uint16_t attr, absl::string_view v) {
        if (attr == RTA_TABLE && InTableRange(U32(v, false), tables)) ours = true;
      });
      return ours;
    }
    default:
      return false;
  }
}

bool IsForwardingChange(const nlmsghdr* nlh, size_t len) {
  if (nlh->nlmsg_type != RTM_NEWNETCONF) return false;
  absl::string_view attrs;
  if (!Attributes(nlh, len, sizeof(netconfmsg), &attrs)) return false;
  bool all = false;
  bool forwarding = false;
  ForEachAttr(attrs, [&](uint16_t attr, absl::string_view v) {
    if (attr == NETCONFA_IFINDEX) {
      all = static_cast<int32_t>(U32(v, false)) == NETCONFA_IFINDEX_ALL;
    }
    if (attr == NETCONFA_FORWARDING) forwarding = true;
  });
  return all && forwarding;
}

bool IsThreadOfThisProcess(uint32_t tid) {
  if (tid == 0) return false;
  if (tid == static_cast<uint32_t>(getpid())) return true;
  const std::string path = absl::StrCat("/proc/self/task/", tid);
  return access(path.c_str(), F_OK) == 0;
}

bool GenerationTracker::OnEvent(const NftEvent& event) {
  switch (event.kind) {
    case NftEvent::Kind::kOther:
      return false;
    case NftEvent::Kind::kOurTable:
      touched_ = true;
      return false;
    case NftEvent::Kind::kGeneration:
      break;
  }
  const bool touched = touched_;
  touched_ = false;
  // A verification at or after this generation already saw its effect.
  // (Generation ids count up by one per commit; wrap-around after 2^32
  // commits costs at most one extra dump.)
  if (trusted_.has_value() && event.generation <= *trusted_) return false;
  if (touched && (event.pid == 0 || !is_own_(event.pid))) {
    trusted_.reset();
    return true;
  }
  if (trusted_.has_value() && event.generation == *trusted_ + 1) {
    trusted_ = event.generation;  // our own write, or another table's change
  } else {
    trusted_.reset();  // a generation we never saw: lost events
  }
  return false;
}

}  // namespace ferry::agent
