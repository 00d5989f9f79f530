// libFuzzer target for the agent's parsing of netlink dump replies
// (node-agent/kernel/nft_messages.h, nft_structure.h, nft_return_marks.h,
// rtnl_messages.h).
//
// The input is one receive buffer: any bytes, walked message by message
// with the agent's own NetlinkMessageWalker (node-agent/kernel/
// netlink_walk.h), as NetlinkSocket::Request and the address monitor walk
// a reply (stop at NLMSG_DONE, skip NLMSG_ERROR), every message handed to
// every parser, as the kernel could put anything in a dump.
// Properties:
//  - the walk ends, and every message it yields lies inside the buffer;
//  - no parser crashes, leaks or hits undefined behaviour;
//  - an address the monitor would report is a valid, reportable address
//    with a printable interface name and a prefix length that fits;
//  - what the agent loads it can also delete (the delete batch builds);
//  - what it loads survives build -> parse unchanged, so a state the agent
//    adopts at start-up is the state it would write (no spurious diffs).
// A broken property calls __builtin_trap, which libFuzzer reports as a crash.
//
// `netlink_fuzzer --write-seeds DIR` writes seed inputs and exits.

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "api/lib/ip_address.h"
#include "node-agent/kernel/netlink_batch.h"
#include "node-agent/kernel/netlink_walk.h"
#include "node-agent/kernel/nft_messages.h"
#include "node-agent/kernel/nft_return_marks.h"
#include "node-agent/kernel/nft_structure.h"
#include "node-agent/kernel/rtnl_messages.h"
#include "node-agent/monitor/address_monitor.h"
#include "node-agent/state/kernel_state.h"
#include "tests/fuzz/netlink_seeds.h"

namespace ferry::agent::fuzz {
namespace {

// Far above any netlink datagram; libFuzzer's default -max_len is 4096.
constexpr size_t kMaxInput = 1 << 20;

[[noreturn]] void Violation(const std::string& what) {
  std::fprintf(stderr, "netlink_fuzzer: %s\n", what.c_str());
  __builtin_trap();
}

bool IsNewSetElem(const nlmsghdr* nlh) {
  return nlh->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM);
}

std::string Describe(const NatState& s) {
  std::string out;
  for (const auto& [k, t] : s.dnat) {
    absl::StrAppend(&out, "dnat ", nft::DescribeKey(k.daddr, k.proto, k.port), " : ",
                    t.addr.ToString(), " . ", t.port, " \"", t.comment, "\"\n");
  }
  for (const auto& [k, c] : s.masq) {
    absl::StrAppend(&out, "masq ", nft::DescribeKey(k.daddr, k.proto, k.port), " \"", c, "\"\n");
  }
  return out;
}

void CheckNatRoundTrip(const NatState& loaded) {
  NatPlan remove;
  NatPlan add;
  for (const auto& [key, target] : loaded.dnat) {
    remove.dnat_delete.push_back(key);
    add.dnat_add.emplace_back(key, target);
  }
  for (const auto& [key, comment] : loaded.masq) {
    remove.masq_delete.push_back(key);
    add.masq_add.emplace_back(key, comment);
  }
  if (absl::StatusOr<NetlinkBatch> b = nft::BuildNatBatch(remove, 1); !b.ok()) {
    Violation(absl::StrCat("cannot delete loaded elements: ", b.status().ToString(), "\n",
                           Describe(loaded)));
  }
  absl::StatusOr<NetlinkBatch> batch = nft::BuildNatBatch(add, 1);
  if (!batch.ok()) {
    // Only what Ferry would never write (an over-long comment) may fail.
    if (!absl::IsInvalidArgument(batch.status())) {
      Violation(absl::StrCat("re-adding loaded elements: ", batch.status().ToString()));
    }
    return;
  }
  NatState reparsed;
  for (size_t i = 0; i < batch->message_count(); ++i) {
    const nlmsghdr* nlh = batch->message(i);
    if (!IsNewSetElem(nlh)) continue;
    if (absl::Status s = nft::ParseSetElements(nlh, &reparsed); !s.ok()) {
      Violation(absl::StrCat("own NEWSETELEM does not parse: ", s.ToString()));
    }
  }
  if (reparsed.dnat != loaded.dnat || reparsed.masq != loaded.masq) {
    Violation(absl::StrCat("nft round trip changed the state\nloaded:\n", Describe(loaded),
                           "reparsed:\n", Describe(reparsed)));
  }
}

void CheckRoute(const TableRoute& route) {
  const NetlinkBatch batch = rtnl::BuildRouteMessage(true, route, 1);
  const std::optional<TableRoute> again = rtnl::ParseRoute(batch.message(0));
  if (!again.has_value() || *again != route) {
    Violation(absl::StrCat("route round trip changed ", rtnl::DescribeRoute(route), " into ",
                           again ? rtnl::DescribeRoute(*again) : "nothing"));
  }
}

void CheckRule(const PolicyRule& rule) {
  const NetlinkBatch batch = rtnl::BuildRuleMessage(true, rule, 1);
  const std::optional<PolicyRule> again = rtnl::ParseRule(batch.message(0));
  if (!again.has_value() || *again != rule) {
    Violation(absl::StrCat("rule round trip changed ", rtnl::DescribeRule(rule), " into ",
                           again ? rtnl::DescribeRule(*again) : "nothing"));
  }
}

// Names for interface indexes: unknown, ordinary, and one no proto string
// may carry, so the label fallbacks are exercised too.
std::string FuzzInterfaceName(int index) {
  switch (static_cast<unsigned>(index) % 3) {
    case 0:
      return "";
    case 1:
      return "eth0";
    default:
      return "bad\x01name";
  }
}

void CheckAddress(const nlmsghdr* nlh) {
  const std::optional<ferry::v1::NodeAddress> parsed =
      ParseAddressMessage(nlh, nlh->nlmsg_len, FuzzInterfaceName);
  if (!parsed.has_value()) return;
  const absl::StatusOr<IpAddress> ip = IpAddress::Parse(parsed->address());
  if (!ip.ok() || !IsReportableAddress(*ip)) {
    Violation(absl::StrCat("reported address is invalid or unreportable: ", parsed->address()));
  }
  const uint32_t max_prefix = ip->is_v4() ? 32 : 128;
  if (parsed->prefix_length() > max_prefix) {
    Violation(absl::StrCat("prefix length ", parsed->prefix_length(), " for ", parsed->address()));
  }
  const std::string& name = parsed->interface();
  if (name.empty() ||
      !std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c <= '~'; })) {
    Violation(absl::StrCat("interface name is not printable: \"", name, "\""));
  }
}

void ParseOne(const nlmsghdr* nlh) {
  // A failed parse may leave some elements behind; those must still hold.
  NatState nat;
  (void)nft::ParseSetElements(nlh, &nat);
  CheckNatRoundTrip(nat);
  // The structure parsers: a failed parse leaves the shape unchanged, and
  // whatever parses compares (and names every difference) without fault.
  nft::TableShape shape;
  for (auto parse : {nft::ParseChain, nft::ParseRule, nft::ParseSet}) {
    const size_t before = shape.chains.size() + shape.rules.size() + shape.sets.size();
    if (!parse(nlh, &shape).ok() &&
        shape.chains.size() + shape.rules.size() + shape.sets.size() != before) {
      Violation("a failed structure parse changed the shape");
    }
  }
  for (const StructureDrift& d : nft::CompareShape(shape)) {
    if (d.object.empty() || (d.expected.empty() && d.found.empty())) {
      Violation(absl::StrCat("structure drift without a name or a difference: ", d.object));
    }
  }
  // Return marks: all or nothing, and a name fits the 16-byte key.
  std::map<std::string, uint32_t> marks;
  const bool marks_ok = nft::ParseMarkElements(nlh, &marks).ok();
  if (!marks_ok && !marks.empty()) Violation("a failed mark parse added elements");
  for (const auto& [name, mark] : marks) {
    if (name.size() > nft::kIfnameKeyLength || name.find('\0') != std::string::npos) {
      Violation(absl::StrCat("mark element name of ", name.size(), " bytes or with a NUL"));
    }
  }
  if (std::optional<TableRoute> route = rtnl::ParseRoute(nlh)) CheckRoute(*route);
  if (std::optional<PolicyRule> rule = rtnl::ParseRule(nlh)) CheckRule(*rule);
  CheckAddress(nlh);
}

// Walks `data` as the agent does, checking each message lies inside it.
void WalkAndParse(const uint8_t* data, size_t size) {
  NetlinkMessageWalker walk(data, size);
  // Each message is at least a header long, so this bounds a correct walk.
  for (size_t count = 0;; ++count) {
    const nlmsghdr* nlh = walk.Next();
    if (nlh == nullptr) return;
    const auto* at = reinterpret_cast<const uint8_t*>(nlh);
    if (count > size / sizeof(nlmsghdr) || at < data ||
        nlh->nlmsg_len > size - static_cast<size_t>(at - data)) {
      Violation(absl::StrCat("walker yielded a message outside the buffer: ", "offset ", at - data,
                             ", length ", nlh->nlmsg_len, ", buffer ", size));
    }
    if (nlh->nlmsg_type == NLMSG_DONE) return;
    if (nlh->nlmsg_type != NLMSG_ERROR) ParseOne(nlh);
  }
}

}  // namespace
}  // namespace ferry::agent::fuzz

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  for (int i = 1; i < *argc; ++i) {
    if (std::strcmp((*argv)[i], "--write-seeds") != 0) continue;
    if (i + 1 >= *argc) {
      std::fprintf(stderr, "usage: %s --write-seeds DIR\n", (*argv)[0]);
      std::exit(2);
    }
    absl::Status s = ferry::agent::fuzz::WriteNetlinkSeeds((*argv)[i + 1]);
    if (!s.ok()) std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(s.ok() ? 0 : 1);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > ferry::agent::fuzz::kMaxInput) return 0;
  // The agent receives into a buffer far larger than any datagram, so
  // libmnl (still used by the rtnl parsers) may read a message's alignment
  // padding; pad likewise (zeroed), and no more, so ASan still sees reads
  // beyond that.
  std::vector<uint8_t> buf(NLMSG_ALIGN(size));
  std::copy(data, data + size, buf.begin());
  ferry::agent::fuzz::WalkAndParse(buf.data(), size);
  return 0;
}
