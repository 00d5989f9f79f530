#include "node-agent/kernel/nft_generation.h"

// glibc's <arpa/inet.h> must come before <linux/netfilter.h>, which
// would otherwise define struct in_addr itself.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "node-agent/kernel/netlink_walk.h"

namespace ferry::agent {
namespace nft {

NetlinkBatch BuildGetGeneration(uint32_t seq) {
  NetlinkBatch batch(seq);
  batch.Append(
      NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)),
      [](char* buf, uint32_t s) {
        nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = s;
        auto* gen = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
        gen->nfgen_family = AF_UNSPEC;
        gen->version = NFNETLINK_V0;
        return nlh;
      },
      "asking for the nftables ruleset generation");
  return batch;
}

std::optional<uint32_t> ParseGeneration(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN)) return std::nullopt;
  AttributeWalker walk(MessageAttributes(nlh, sizeof(nfgenmsg)));
  while (const nlattr* attr = walk.Next()) {
    const absl::string_view value = AttributePayload(attr);
    if (AttributeType(attr) != NFTA_GEN_ID || value.size() != sizeof(uint32_t)) continue;
    uint32_t id = 0;
    std::memcpy(&id, value.data(), sizeof(id));
    return ntohl(id);
  }
  return std::nullopt;
}

}  // namespace nft

absl::StatusOr<GenerationQuery> GenerationQuery::Open() {
  absl::StatusOr<std::unique_ptr<NetlinkSocket>> socket = NetlinkSocket::Open(NETLINK_NETFILTER);
  if (!socket.ok()) return socket.status();
  return GenerationQuery(*std::move(socket));
}

absl::StatusOr<uint32_t> GenerationQuery::Current() {
  std::optional<uint32_t> generation;
  absl::Status status = socket_->Request(nft::BuildGetGeneration(socket_->next_seq()),
                                         [&generation](const nlmsghdr* nlh) {
                                           generation = nft::ParseGeneration(nlh);
                                           return absl::OkStatus();
                                         });
  if (!status.ok()) return status;
  if (!generation.has_value()) {
    return absl::UnavailableError("NFT_MSG_GETGEN reply without NFTA_GEN_ID");
  }
  return *generation;
}

}  // namespace ferry::agent
