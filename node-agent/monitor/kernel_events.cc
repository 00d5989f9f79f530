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
#include "node-agent/kernel/route_backend.h"

namespace ferry::agent {
namespace {

constexpr absl::string_view kTableName = "ferry";
// Every nf_tables object message names its table in attribute 1
// (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_SET_TABLE, NFTA_RULE_TABLE, ...).
constexpr uint16_t kTableAttr = 1;

// Calls `fn(type, payload)` for each attribute in [data, data+len), stopping
// at the first malformed one.
template <typename Fn>
void ForEachAttr(const char* data, size_t len, Fn fn) {
  while (len >= sizeof(nlattr)) {
    nlattr attr;
    std::memcpy(&attr, data, sizeof(attr));
    if (attr.nla_len < sizeof(nlattr) || attr.nla_len > len) return;
    fn(static_cast<uint16_t>(attr.nla_type & NLA_TYPE_MASK),
       absl::string_view(data + sizeof(nlattr), attr.nla_len - sizeof(nlattr)));
    const size_t step = NLA_ALIGN(attr.nla_len);
    if (step >= len) return;
    data += step;
    len -= step;
  }
}

// The payload behind the header and a fixed `extra`-byte family header.
bool Body(const nlmsghdr* nlh, size_t len, size_t extra, const char** data, size_t* size) {
  if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN + extra || nlh->nlmsg_len > len) {
    return false;
  }
  *data = reinterpret_cast<const char*>(nlh) + NLMSG_HDRLEN + NLMSG_ALIGN(extra);
  const size_t start = NLMSG_HDRLEN + NLMSG_ALIGN(extra);
  *size = nlh->nlmsg_len > start ? nlh->nlmsg_len - start : 0;
  return true;
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
  const char* data = nullptr;
  size_t size = 0;
  if (!Body(nlh, len, sizeof(nfgenmsg), &data, &size)) return event;
  if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES) return event;
  const int type = nlh->nlmsg_type & 0xff;
  if (type == NFT_MSG_NEWGEN) {
    event.kind = NftEvent::Kind::kGeneration;
    ForEachAttr(data, size, [&](uint16_t attr, absl::string_view v) {
      if (attr == NFTA_GEN_ID) event.generation = U32(v, /*big_endian=*/true);
      if (attr == NFTA_GEN_PROC_PID) event.pid = U32(v, /*big_endian=*/true);
    });
    return event;
  }
  nfgenmsg gen;
  std::memcpy(&gen, reinterpret_cast<const char*>(nlh) + NLMSG_HDRLEN, sizeof(gen));
  if (gen.nfgen_family != NFPROTO_INET) return event;
  ForEachAttr(data, size, [&](uint16_t attr, absl::string_view v) {
    if (attr != kTableAttr) return;
    // NLA_STRING payloads carry a trailing NUL.
    if (!v.empty() && v.back() == '\0') v.remove_suffix(1);
    if (v == kTableName) event.kind = NftEvent::Kind::kOurTable;
  });
  return event;
}

bool IsOurRouteMessage(const nlmsghdr* nlh, size_t len, const RouteTableOptions& tables) {
  const char* data = nullptr;
  size_t size = 0;
  switch (nlh->nlmsg_type) {
    case RTM_NEWRULE:
    case RTM_DELRULE: {
      if (!Body(nlh, len, sizeof(fib_rule_hdr), &data, &size)) return false;
      fib_rule_hdr hdr;
      std::memcpy(&hdr, reinterpret_cast<const char*>(nlh) + NLMSG_HDRLEN, sizeof(hdr));
      bool ours = InTableRange(hdr.table, tables);
      ForEachAttr(data, size, [&](uint16_t attr, absl::string_view v) {
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
      if (!Body(nlh, len, sizeof(rtmsg), &data, &size)) return false;
      rtmsg rtm;
      std::memcpy(&rtm, reinterpret_cast<const char*>(nlh) + NLMSG_HDRLEN, sizeof(rtm));
      bool ours = rtm.rtm_protocol == kFerryRouteProtocol || InTableRange(rtm.rtm_table, tables);
      ForEachAttr(data, size, [&](uint16_t attr, absl::string_view v) {
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
  const char* data = nullptr;
  size_t size = 0;
  if (!Body(nlh, len, sizeof(netconfmsg), &data, &size)) return false;
  bool all = false;
  bool forwarding = false;
  ForEachAttr(data, size, [&](uint16_t attr, absl::string_view v) {
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
