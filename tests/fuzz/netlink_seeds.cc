#include "tests/fuzz/netlink_seeds.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "api/lib/ip_address.h"
#include "node-agent/kernel/netlink_batch.h"
#include "node-agent/kernel/nft_messages.h"
#include "node-agent/kernel/nft_return_marks.h"
#include "node-agent/kernel/rtnl_messages.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent::fuzz {
namespace {

IpAddress Ip(absl::string_view text) {
  absl::StatusOr<IpAddress> a = IpAddress::Parse(text);
  if (!a.ok()) {
    std::fprintf(stderr, "bad seed address %s\n", std::string(text).c_str());
    std::abort();
  }
  return *a;
}

std::string Bytes(const nlmsghdr* nlh) {
  return std::string(reinterpret_cast<const char*>(nlh), nlh->nlmsg_len);
}

std::string Done() {
  alignas(nlmsghdr) char buf[MNL_NLMSG_HDRLEN + sizeof(int)] = {};
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = NLMSG_DONE;
  nlh->nlmsg_flags = NLM_F_MULTI;
  mnl_nlmsg_put_extra_header(nlh, sizeof(int));
  return Bytes(nlh);
}

NatPlan SeedPlan() {
  NatPlan plan;
  plan.dnat_add = {
      {DnatKey{Ip("192.0.2.1"), kProtoTcp, 80}, DnatTarget{Ip("10.8.0.2"), 8080, "ipforward/web"}},
      {DnatKey{Ip("192.0.2.1"), kProtoUdp, 53}, DnatTarget{Ip("10.8.0.2"), 53, ""}},
      {DnatKey{Ip("2001:db8::1"), kProtoTcp, 443},
       DnatTarget{Ip("fd00:8::2"), 8443, "ipforward/web6"}},
  };
  plan.masq_add = {
      {MasqKey{Ip("10.8.0.2"), kProtoTcp, 8080}, "ipforward/web"},
      {MasqKey{Ip("fd00:8::2"), kProtoTcp, 8443}, ""},
  };
  return plan;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> NetlinkSeeds() {
  std::vector<std::pair<std::string, std::string>> seeds;

  // NEWSETELEM messages, one file per set, as in a GETSETELEM dump reply.
  absl::StatusOr<NetlinkBatch> nat = nft::BuildNatBatch(SeedPlan(), 1);
  if (!nat.ok()) {
    std::fprintf(stderr, "seed plan: %s\n", nat.status().ToString().c_str());
    std::abort();
  }
  const uint16_t newsetelem = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM;
  for (size_t i = 0; i < nat->message_count(); ++i) {
    const nlmsghdr* nlh = nat->message(i);
    if (nlh->nlmsg_type == newsetelem) {
      seeds.emplace_back(absl::StrCat("nft-setelem-", i, ".bin"), Bytes(nlh) + Done());
    }
  }
  seeds.emplace_back("nft-batch.bin", std::string(nat->data(), nat->size()));

  // The table's chains, rules and sets, as their dump replies carry them.
  NatPlan create;
  create.create_table = true;
  absl::StatusOr<NetlinkBatch> table = nft::BuildNatBatch(create, 1);
  if (!table.ok()) {
    std::fprintf(stderr, "seed table: %s\n", table.status().ToString().c_str());
    std::abort();
  }
  std::string objects;
  for (size_t i = 0; i < table->message_count(); ++i) {
    const nlmsghdr* nlh = table->message(i);
    const int type = nlh->nlmsg_type & 0xff;
    if ((nlh->nlmsg_type >> 8) == NFNL_SUBSYS_NFTABLES &&
        (type == NFT_MSG_NEWCHAIN || type == NFT_MSG_NEWRULE || type == NFT_MSG_NEWSET)) {
      objects += Bytes(nlh);
    }
  }
  seeds.emplace_back("nft-structure.bin", objects + Done());

  // Table ferry_return: its map's elements, and its chains, rules and map.
  absl::StatusOr<NetlinkBatch> marks = nft::BuildMarkTableBatch(
      {{"wg-b1", ReturnMark(1)}, {"abcdefghijklmno", ReturnMark(kMaxReturnMarks)}}, 1);
  if (!marks.ok()) {
    std::fprintf(stderr, "seed marks: %s\n", marks.status().ToString().c_str());
    std::abort();
  }
  std::string mark_objects;
  for (size_t i = 0; i < marks->message_count(); ++i) {
    const nlmsghdr* nlh = marks->message(i);
    const int type = nlh->nlmsg_type & 0xff;
    if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES) continue;
    if (type == NFT_MSG_NEWSETELEM) {
      seeds.emplace_back("nft-marks-setelem.bin", Bytes(nlh) + Done());
    } else if (type == NFT_MSG_NEWCHAIN || type == NFT_MSG_NEWRULE || type == NFT_MSG_NEWSET) {
      mark_objects += Bytes(nlh);
    }
  }
  seeds.emplace_back("nft-marks-structure.bin", mark_objects + Done());

  const TableRoute route4{7001, Ip("10.8.0.1")};
  const TableRoute route6{7002, Ip("fd00:8::1")};
  const PolicyRule rule4{Ip("10.8.0.2"), kProtoTcp, 8080, 8090, 7001, 100};
  const PolicyRule rule6{Ip("fd00:8::2"), kProtoUdp, 53, 53, 7002, 101};
  const PolicyRule rule_any{Ip("10.8.0.3"), 0, 0, 0, 300, 102};
  std::string dump;
  for (const auto& [name, batch] :
       {std::pair{"route4", rtnl::BuildRouteMessage(true, route4, 1)},
        std::pair{"route6", rtnl::BuildRouteMessage(true, route6, 2)},
        std::pair{"rule4", rtnl::BuildRuleMessage(true, rule4, 3)},
        std::pair{"rule6", rtnl::BuildRuleMessage(true, rule6, 4)},
        std::pair{"rule-any", rtnl::BuildRuleMessage(true, rule_any, 5)}}) {
    const std::string bytes(batch.data(), batch.size());
    seeds.emplace_back(absl::StrCat("rtnl-", name, ".bin"), bytes);
    dump += bytes;
  }
  seeds.emplace_back("rtnl-dump.bin", dump + Done());
  return seeds;
}

absl::Status WriteNetlinkSeeds(absl::string_view dir) {
  for (const auto& [name, bytes] : NetlinkSeeds()) {
    const std::string path = absl::StrCat(dir, "/", name);
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return absl::NotFoundError(absl::StrCat("cannot create ", path));
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !ok) {
      return absl::DataLossError(absl::StrCat("cannot write ", path));
    }
  }
  return absl::OkStatus();
}

}  // namespace ferry::agent::fuzz
