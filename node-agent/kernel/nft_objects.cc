#include "node-agent/kernel/nft_objects.h"

#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "node-agent/kernel/nft_messages.h"

namespace ferry::agent::nft {

void AppendBatchBegin(NetlinkBatch& batch) {
  batch.Append(
      NLMSG_HDRLEN + 16, [](char* buf, uint32_t seq) { return nftnl_batch_begin(buf, seq); },
      "starting nftables transaction", /*ack=*/false);
}

void AppendBatchEnd(NetlinkBatch& batch) {
  batch.Append(
      NLMSG_HDRLEN + 16, [](char* buf, uint32_t seq) { return nftnl_batch_end(buf, seq); },
      "committing nftables transaction", /*ack=*/false);
}

void AppendTable(NetlinkBatch& batch, const char* table, uint16_t type, std::string what) {
  batch.Append(
      kObjectMessageBytes,
      [&](char* buf, uint32_t seq) {
        TablePtr t(nftnl_table_alloc());
        nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table);
        if (type == NFT_MSG_NEWTABLE) {
          nftnl_table_set_u32(t.get(), NFTNL_TABLE_FLAGS, 0);
          UdataBufPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
          nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_TABLE_COMMENT, kTableComment);
          nftnl_table_set_data(t.get(), NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud.get()),
                               nftnl_udata_buf_len(ud.get()));
        }
        const uint16_t flags = NLM_F_ACK | (type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0);
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags, seq);
        nftnl_table_nlmsg_build_payload(nlh, t.get());
        return nlh;
      },
      std::move(what));
}

void AppendChain(NetlinkBatch& batch, const char* table, const char* chain, const char* type,
                 uint32_t hook, int32_t priority) {
  batch.Append(
      kObjectMessageBytes,
      [&](char* buf, uint32_t seq) {
        ChainPtr c(nftnl_chain_alloc());
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table);
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, chain);
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, type);
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, hook);
        nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, priority);
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWCHAIN, NFPROTO_INET,
                                              NLM_F_CREATE | NLM_F_ACK, seq);
        nftnl_chain_nlmsg_build_payload(nlh, c.get());
        return nlh;
      },
      absl::StrCat("adding chain ", chain, " (type ", type, ") to table inet ", table));
  batch.MarkNeedsKernelFeature();
}

void AppendRule(NetlinkBatch& batch, const char* table, const char* chain, const std::string& tag,
                RulePtr rule, std::string what) {
  batch.Append(
      kObjectMessageBytes,
      [&](char* buf, uint32_t seq) {
        nftnl_rule_set_str(rule.get(), NFTNL_RULE_TABLE, table);
        nftnl_rule_set_str(rule.get(), NFTNL_RULE_CHAIN, chain);
        UdataBufPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
        nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_RULE_COMMENT, tag.c_str());
        nftnl_rule_set_data(rule.get(), NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud.get()),
                            nftnl_udata_buf_len(ud.get()));
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET,
                                              NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, seq);
        nftnl_rule_nlmsg_build_payload(nlh, rule.get());
        return nlh;
      },
      std::move(what));
  batch.MarkNeedsKernelFeature();
}

}  // namespace ferry::agent::nft
