// nft message builders, checked by parsing the bytes back with libnftnl
// against what `nft --debug=netlink,mnl` (nftables 1.0.6) emits.

#include "node-agent/kernel/nft_messages.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/netlink_nat_backend.h"
#include "node-agent/kernel/nft_handles.h"

namespace ferry::agent::nft {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

bool IsNft(const nlmsghdr* nlh) { return (nlh->nlmsg_type >> 8) == NFNL_SUBSYS_NFTABLES; }
uint16_t NftType(const nlmsghdr* nlh) { return nlh->nlmsg_type & 0xff; }

NatPlan ExamplePlan() {
  NatPlan plan;
  plan.create_table = true;
  plan.dnat_add = {
      {DnatKey{Ip("192.0.2.1"), kProtoTcp, 80}, DnatTarget{Ip("10.8.0.2"), 8080, "ipforward/web"}}};
  plan.masq_add = {{MasqKey{Ip("10.8.0.2"), kProtoTcp, 8080}, "ipforward/web"}};
  return plan;
}

std::vector<uint16_t> Types(const NetlinkBatch& batch) {
  std::vector<uint16_t> types;
  for (size_t i = 0; i < batch.message_count(); ++i) {
    const nlmsghdr* nlh = batch.message(i);
    types.push_back(IsNft(nlh) ? NftType(nlh) : nlh->nlmsg_type);
  }
  return types;
}

std::string Hex(const void* data, uint32_t len) {
  std::string out;
  for (uint32_t i = 0; i < len; ++i) {
    absl::StrAppend(&out, i ? " " : "",
                    absl::Hex(static_cast<const uint8_t*>(data)[i], absl::kZeroPad2));
  }
  return out;
}

// Parses every NEWSETELEM of the batch back into a NatState.
NatState ParseElements(const NetlinkBatch& batch) {
  NatState state;
  for (size_t i = 0; i < batch.message_count(); ++i) {
    const nlmsghdr* nlh = batch.message(i);
    if (!IsNft(nlh) || NftType(nlh) != NFT_MSG_NEWSETELEM) continue;
    absl::Status s = ParseSetElements(batch.message(i), &state);
    EXPECT_TRUE(s.ok()) << s;
  }
  return state;
}

TEST(NftMessagesTest, CreateIsOneBatchRebuildingTableSetsChainsRulesThenElements) {
  absl::StatusOr<NetlinkBatch> batch = BuildNatBatch(ExamplePlan(), 100);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_THAT(
      Types(*batch),
      ElementsAre(NFNL_MSG_BATCH_BEGIN, NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, NFT_MSG_NEWTABLE,
                  NFT_MSG_NEWSET, NFT_MSG_NEWSET, NFT_MSG_NEWSET, NFT_MSG_NEWSET, NFT_MSG_NEWCHAIN,
                  NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE, NFT_MSG_NEWRULE, NFT_MSG_NEWRULE,
                  NFT_MSG_NEWRULE, NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE, NFT_MSG_NEWRULE,
                  NFT_MSG_NEWRULE, NFT_MSG_NEWSETELEM, NFT_MSG_NEWSETELEM, NFNL_MSG_BATCH_END));
  for (size_t i = 0; i < batch->message_count(); ++i) {
    EXPECT_EQ(batch->message(i)->nlmsg_seq, 100 + i);
    const bool framing = !IsNft(batch->message(i));
    EXPECT_EQ((batch->message(i)->nlmsg_flags & NLM_F_ACK) != 0, !framing) << i;
  }
  EXPECT_EQ(batch->acks_expected(), batch->message_count() - 2);
}

TEST(NftMessagesTest, TableHasCommentAndNeverTheOwnerFlag) {
  absl::StatusOr<NetlinkBatch> batch = BuildNatBatch(ExamplePlan(), 1);
  ASSERT_TRUE(batch.ok());
  TablePtr t(nftnl_table_alloc());
  ASSERT_EQ(nftnl_table_nlmsg_parse(batch->message(1), t.get()), 0);
  EXPECT_STREQ(nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME), "ferry");
  EXPECT_EQ(nftnl_table_get_u32(t.get(), NFTNL_TABLE_FLAGS), 0u);
  uint32_t len = 0;
  const void* ud = nftnl_table_get_data(t.get(), NFTNL_TABLE_USERDATA, &len);
  ASSERT_NE(ud, nullptr);
  // TLV type 0 (comment), length, NUL-terminated text.
  const std::string bytes(static_cast<const char*>(ud), len);
  EXPECT_EQ(bytes, absl::StrCat(std::string(1, '\0'), std::string(1, '\x24'), kTableComment,
                                std::string(1, '\0')));
}

struct SetExpectation {
  int message;
  const char* name;
  uint32_t flags, key_type, key_len, data_type, data_len;
  const char* userdata_hex;  // empty: not compared
};

TEST(NftMessagesTest, SetsCarryNftTypeIdsAndUserdata) {
  absl::StatusOr<NetlinkBatch> batch = BuildNatBatch(ExamplePlan(), 1);
  ASSERT_TRUE(batch.ok());
  // Userdata bytes as nft 1.0.6 sends them for these declarations.
  const SetExpectation want[] = {
      {4, "dnat4", NFT_SET_MAP, 0x730d, 12, 0x1cd, 8, ""},
      {5, "dnat6", NFT_SET_MAP, 0x830d, 24, 0x20d, 20,
       "00 04 00 00 00 00 01 04 00 00 00 00 03 08 00 04 0d 00 00 00 01 00 "
       "04 08 00 04 0d 00 00 00 01 00 06 04 00 00 00 00"},
      {6, "masq4", 0, 0x730d, 12, 0, 0, "00 04 00 00 00 00 03 08 00 04 0d 00 00 00 01 00"},
      {7, "masq6", 0, 0x830d, 24, 0, 0, "00 04 00 00 00 00 03 08 00 04 0d 00 00 00 01 00"},
  };
  for (const SetExpectation& w : want) {
    SCOPED_TRACE(w.name);
    SetPtr s(nftnl_set_alloc());
    ASSERT_EQ(nftnl_set_nlmsg_parse(batch->message(w.message), s.get()), 0);
    EXPECT_STREQ(nftnl_set_get_str(s.get(), NFTNL_SET_NAME), w.name);
    EXPECT_EQ(nftnl_set_get_u32(s.get(), NFTNL_SET_FLAGS), w.flags);
    EXPECT_EQ(nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_TYPE), w.key_type);
    EXPECT_EQ(nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_LEN), w.key_len);
    EXPECT_EQ(nftnl_set_get_u32(s.get(), NFTNL_SET_DATA_TYPE), w.data_type);
    EXPECT_EQ(nftnl_set_get_u32(s.get(), NFTNL_SET_DATA_LEN), w.data_len);
    uint32_t len = 0;
    const void* ud = nftnl_set_get_data(s.get(), NFTNL_SET_USERDATA, &len);
    ASSERT_NE(ud, nullptr);
    if (*w.userdata_hex) {
      EXPECT_EQ(Hex(ud, len), w.userdata_hex);
    }
  }
  // dnat4 additionally ends with its comment TLV (type 7).
  SetPtr s(nftnl_set_alloc());
  ASSERT_EQ(nftnl_set_nlmsg_parse(batch->message(4), s.get()), 0);
  uint32_t len = 0;
  const char* ud = static_cast<const char*>(nftnl_set_get_data(s.get(), NFTNL_SET_USERDATA, &len));
  EXPECT_THAT(std::string(ud, len), HasSubstr(kDnat4Comment));
}

std::string RuleText(const nlmsghdr* nlh) {
  RulePtr r(nftnl_rule_alloc());
  EXPECT_EQ(nftnl_rule_nlmsg_parse(nlh, r.get()), 0);
  char buf[4096];
  nftnl_rule_snprintf(buf, sizeof(buf), r.get(), NFTNL_OUTPUT_DEFAULT, 0);
  return buf;
}

TEST(NftMessagesTest, RulesAreTheExpressionsNftGenerates) {
  absl::StatusOr<NetlinkBatch> batch = BuildNatBatch(ExamplePlan(), 1);
  ASSERT_TRUE(batch.ok());
  EXPECT_THAT(RuleText(batch->message(10)),
              HasSubstr("inet ferry prerouting\n"
                        "  [ meta load nfproto => reg 1 ]\n"
                        "  [ cmp eq reg 1 0x00000002 ]\n"
                        "  [ payload load 4b @ network header + 16 => reg 1 ]\n"
                        "  [ meta load l4proto => reg 9 ]\n"
                        "  [ payload load 2b @ transport header + 2 => reg 10 ]\n"
                        "  [ lookup reg 1 set dnat4 dreg 1 ]\n"
                        "  [ nat dnat ip addr_min reg 1 proto_min reg 9 ]\n"));
  EXPECT_THAT(RuleText(batch->message(11)),
              HasSubstr("  [ meta load nfproto => reg 1 ]\n"
                        "  [ cmp eq reg 1 0x0000000a ]\n"
                        "  [ payload load 16b @ network header + 24 => reg 1 ]\n"
                        "  [ meta load l4proto => reg 2 ]\n"
                        "  [ payload load 2b @ transport header + 2 => reg 13 ]\n"
                        "  [ lookup reg 1 set dnat6 dreg 1 ]\n"
                        "  [ nat dnat ip6 addr_min reg 1 proto_min reg 2 ]\n"));
  EXPECT_THAT(RuleText(batch->message(12)),
              HasSubstr("inet ferry postrouting\n"
                        "  [ ct load status => reg 1 ]\n"
                        "  [ bitwise reg 1 = ( reg 1 & 0x00000020 ) ^ 0x00000000 ]\n"
                        "  [ cmp neq reg 1 0x00000000 ]\n"
                        "  [ meta load nfproto => reg 1 ]\n"
                        "  [ cmp eq reg 1 0x00000002 ]\n"
                        "  [ payload load 4b @ network header + 16 => reg 1 ]\n"
                        "  [ meta load l4proto => reg 9 ]\n"
                        "  [ payload load 2b @ transport header + 2 => reg 10 ]\n"
                        "  [ lookup reg 1 set masq4 ]\n"
                        "  [ masq ]\n"));
  EXPECT_THAT(RuleText(batch->message(13)),
              HasSubstr("  [ payload load 16b @ network header + 24 => reg 1 ]\n"
                        "  [ meta load l4proto => reg 2 ]\n"
                        "  [ payload load 2b @ transport header + 2 => reg 13 ]\n"
                        "  [ lookup reg 1 set masq6 ]\n"
                        "  [ masq ]\n"));
}

TEST(NftMessagesTest, OutputChainDnatsOnlyTheProbesMarkThroughTheSameMaps) {
  absl::StatusOr<NetlinkBatch> batch = BuildNatBatch(ExamplePlan(), 1);
  ASSERT_TRUE(batch.ok());
  ChainPtr c(nftnl_chain_alloc());
  ASSERT_EQ(nftnl_chain_nlmsg_parse(batch->message(14), c.get()), 0);
  EXPECT_STREQ(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME), "output");
  EXPECT_STREQ(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TYPE), "nat");
  EXPECT_EQ(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM), 3u);  // NF_INET_LOCAL_OUT
  EXPECT_EQ(static_cast<int32_t>(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_PRIO)), -100);
  // As `nft --debug=netlink` writes `meta mark & 0xff000000 == 0xff000000
  // dnat ip to ip daddr . meta l4proto . th dport map @dnat4`.
  const std::string mark =
      "  [ meta load mark => reg 1 ]\n"
      "  [ bitwise reg 1 = ( reg 1 & 0xff000000 ) ^ 0x00000000 ]\n"
      "  [ cmp eq reg 1 0xff000000 ]\n";
  EXPECT_THAT(RuleText(batch->message(15)),
              HasSubstr(absl::StrCat("inet ferry output\n", mark,
                                     "  [ meta load nfproto => reg 1 ]\n"
                                     "  [ cmp eq reg 1 0x00000002 ]\n"
                                     "  [ payload load 4b @ network header + 16 => reg 1 ]\n"
                                     "  [ meta load l4proto => reg 9 ]\n"
                                     "  [ payload load 2b @ transport header + 2 => reg 10 ]\n"
                                     "  [ lookup reg 1 set dnat4 dreg 1 ]\n"
                                     "  [ nat dnat ip addr_min reg 1 proto_min reg 9 ]\n")));
  EXPECT_THAT(RuleText(batch->message(16)),
              HasSubstr(absl::StrCat(mark,
                                     "  [ meta load nfproto => reg 1 ]\n"
                                     "  [ cmp eq reg 1 0x0000000a ]\n"
                                     "  [ payload load 16b @ network header + 24 => reg 1 ]\n"
                                     "  [ meta load l4proto => reg 2 ]\n"
                                     "  [ payload load 2b @ transport header + 2 => reg 13 ]\n"
                                     "  [ lookup reg 1 set dnat6 dreg 1 ]\n"
                                     "  [ nat dnat ip6 addr_min reg 1 proto_min reg 2 ]\n")));
  EXPECT_THAT(RuleText(batch->message(17)),
              HasSubstr(absl::StrCat(mark, "  [ immediate reg 0 drop ]\n")));
  EXPECT_EQ(batch->Describe(batch->message(17)->nlmsg_seq),
            "adding rule to chain output: meta mark & 0xff000000 == 0xff000000 drop");
}

TEST(NftMessagesTest, ElementCarriesNftKeyLayoutDataAndCommentUserdata) {
  absl::StatusOr<NetlinkBatch> batch = BuildNatBatch(ExamplePlan(), 1);
  ASSERT_TRUE(batch.ok());
  SetPtr s(nftnl_set_alloc());
  ASSERT_EQ(nftnl_set_elems_nlmsg_parse(batch->message(18), s.get()), 0);
  EXPECT_STREQ(nftnl_set_get_str(s.get(), NFTNL_SET_NAME), "dnat4");
  std::vector<std::string> seen;
  nftnl_set_elem_foreach(
      s.get(),
      [](nftnl_set_elem* e, void* out) {
        auto* v = static_cast<std::vector<std::string>*>(out);
        uint32_t len = 0;
        for (uint16_t attr : {NFTNL_SET_ELEM_KEY, NFTNL_SET_ELEM_DATA, NFTNL_SET_ELEM_USERDATA}) {
          const void* d = nftnl_set_elem_get(e, attr, &len);
          v->push_back(d ? Hex(d, len) : "");
        }
        return 0;
      },
      &seen);
  // Bytes as in `nft --debug=netlink add element ... { 192.0.2.1 . tcp . 80
  // comment "ipforward/web" : 10.8.0.2 . 8080 }`.
  EXPECT_THAT(seen, ElementsAre("c0 00 02 01 06 00 00 00 00 50 00 00", "0a 08 00 02 1f 90 00 00",
                                "00 0e 69 70 66 6f 72 77 61 72 64 2f 77 65 62 00"));
}

TEST(NftMessagesTest, ElementsRoundTripThroughTheDumpParser) {
  NatPlan plan = ExamplePlan();
  plan.dnat_add.push_back(
      {DnatKey{Ip("2001:db8::1"), kProtoUdp, 53}, DnatTarget{Ip("2001:db8::2"), 5353, ""}});
  plan.masq_add.push_back({MasqKey{Ip("2001:db8::2"), kProtoUdp, 5353}, "x"});
  absl::StatusOr<NetlinkBatch> batch = BuildNatBatch(plan, 1);
  ASSERT_TRUE(batch.ok());
  NatState want;
  for (const auto& [k, v] : plan.dnat_add) want.dnat[k] = v;
  for (const auto& [k, v] : plan.masq_add) want.masq[k] = v;
  EXPECT_EQ(ParseElements(*batch), want);
}

TEST(NftMessagesTest, ManyElementsAreChunkedUnderTheAttributeLengthLimit) {
  NatPlan plan;
  const std::string long_comment(kMaxCommentLength, 'c');
  for (int i = 0; i < 2500; ++i) {
    plan.dnat_add.push_back(
        {DnatKey{Ip(absl::StrCat("10.1.", i / 250, ".", i % 250).c_str()), kProtoTcp, 80},
         DnatTarget{Ip("10.8.0.2"), 80, i % 2 ? long_comment : "short"}});
  }
  absl::StatusOr<NetlinkBatch> batch = BuildNatBatch(plan, 1);
  ASSERT_TRUE(batch.ok());
  size_t element_messages = 0;
  for (size_t i = 1; i + 1 < batch->message_count(); ++i) {
    ++element_messages;
    EXPECT_LT(batch->message(i)->nlmsg_len, 65535u);
  }
  EXPECT_GE(element_messages, 3u);
  EXPECT_EQ(ParseElements(*batch).dnat.size(), 2500u);
}

TEST(NftMessagesTest, DeletesPrecedeAddsAndAreSkippedWhenRebuilding) {
  NatPlan plan;
  plan.dnat_add = {
      {DnatKey{Ip("192.0.2.1"), kProtoTcp, 80}, DnatTarget{Ip("10.8.0.3"), 80, "new"}}};
  plan.dnat_delete = {DnatKey{Ip("192.0.2.1"), kProtoTcp, 80}};
  absl::StatusOr<NetlinkBatch> batch = BuildNatBatch(plan, 1);
  ASSERT_TRUE(batch.ok());
  EXPECT_THAT(Types(*batch), ElementsAre(NFNL_MSG_BATCH_BEGIN, NFT_MSG_DELSETELEM,
                                         NFT_MSG_NEWSETELEM, NFNL_MSG_BATCH_END));
  plan.create_table = true;
  batch = BuildNatBatch(plan, 1);
  ASSERT_TRUE(batch.ok());
  for (uint16_t type : Types(*batch)) EXPECT_NE(type, NFT_MSG_DELSETELEM);
}

TEST(NftMessagesTest, ErrorOffsetIsTracedBackToTheElement) {
  NatPlan plan;
  for (int port : {80, 81, 82}) {
    plan.masq_add.push_back({MasqKey{Ip("10.8.0.2"), kProtoTcp, static_cast<uint16_t>(port)}, "c"});
  }
  absl::StatusOr<NetlinkBatch> batch = BuildNatBatch(plan, 7);
  ASSERT_TRUE(batch.ok());
  // Offset of the third element nest, as the kernel's extended ACK gives it.
  const nlmsghdr* nlh = batch->message(1);
  std::vector<uint32_t> offsets;
  const auto* base = reinterpret_cast<const char*>(nlh);
  const auto* end = base + nlh->nlmsg_len;
  for (auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
       mnl_attr_ok(a, end - reinterpret_cast<const char*>(a)); a = mnl_attr_next(a)) {
    if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS) continue;
    const char* list_end = reinterpret_cast<const char*>(a) + a->nla_len;
    for (auto* e = static_cast<const nlattr*>(mnl_attr_get_payload(a));
         mnl_attr_ok(e, list_end - reinterpret_cast<const char*>(e)); e = mnl_attr_next(e)) {
      offsets.push_back(reinterpret_cast<const char*>(e) - base);
    }
  }
  ASSERT_EQ(offsets.size(), 3u);
  EXPECT_EQ(batch->Describe(8, offsets[2] + 8), "adding element 10.8.0.2 . tcp . 82 to set masq4");
  EXPECT_EQ(batch->Describe(8), "adding 3 elements to set masq4");
  EXPECT_EQ(batch->Describe(7), "starting nftables transaction");
}

TEST(NftMessagesTest, BadElementsAreRejectedByName) {
  NatPlan plan;
  plan.dnat_add = {
      {DnatKey{Ip("192.0.2.1"), kProtoTcp, 80}, DnatTarget{Ip("2001:db8::2"), 80, "x"}}};
  absl::StatusOr<NetlinkBatch> batch = BuildNatBatch(plan, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(batch.status()));
  EXPECT_THAT(batch.status().message(), HasSubstr("element 192.0.2.1 . tcp . 80 of map dnat4"));

  plan.dnat_add = {{DnatKey{Ip("192.0.2.1"), kProtoUdp, 53},
                    DnatTarget{Ip("10.8.0.2"), 53, std::string(129, 'x')}}};
  batch = BuildNatBatch(plan, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(batch.status()));
  EXPECT_THAT(batch.status().message(), HasSubstr("192.0.2.1 . udp . 53"));
  EXPECT_THAT(batch.status().message(), HasSubstr("comment"));
}

TEST(NftMessagesTest, ChangedTargetsAndCommentsBecomeDeletePlusAdd) {
  NatState kernel;
  kernel.table_present = true;
  const DnatKey changed{Ip("192.0.2.1"), kProtoTcp, 80};
  const DnatKey same{Ip("192.0.2.1"), kProtoTcp, 81};
  const DnatKey fresh{Ip("192.0.2.1"), kProtoTcp, 82};
  kernel.dnat[changed] = DnatTarget{Ip("10.8.0.2"), 80, "a"};
  kernel.dnat[same] = DnatTarget{Ip("10.8.0.2"), 81, "a"};
  const MasqKey masq{Ip("10.8.0.2"), kProtoTcp, 80};
  kernel.masq[masq] = "old";
  NatPlan plan;
  plan.dnat_add = {{changed, DnatTarget{Ip("10.8.0.2"), 80, "renamed"}},
                   {same, kernel.dnat[same]},
                   {fresh, DnatTarget{Ip("10.8.0.2"), 82, "a"}}};
  plan.masq_add = {{masq, "new"}};

  const NatPlan full = WithReplaceDeletes(plan, kernel);
  EXPECT_THAT(full.dnat_delete, ElementsAre(changed));
  EXPECT_THAT(full.masq_delete, ElementsAre(masq));
  EXPECT_EQ(full.dnat_add, plan.dnat_add);
}

TEST(NftMessagesTest, LoadRequestsNameTheTableAndSet) {
  NetlinkBatch get = BuildGetTable(3);
  EXPECT_EQ(NftType(get.message(0)), NFT_MSG_GETTABLE);
  NetlinkBatch dump = BuildGetSetElements(NatSet::kMasq6, 4);
  EXPECT_EQ(NftType(dump.message(0)), NFT_MSG_GETSETELEM);
  EXPECT_EQ(dump.message(0)->nlmsg_flags & NLM_F_DUMP, NLM_F_DUMP);
  SetPtr s(nftnl_set_alloc());
  ASSERT_EQ(nftnl_set_elems_nlmsg_parse(dump.message(0), s.get()), 0);
  EXPECT_STREQ(nftnl_set_get_str(s.get(), NFTNL_SET_TABLE), "ferry");
  EXPECT_STREQ(nftnl_set_get_str(s.get(), NFTNL_SET_NAME), "masq6");
}

}  // namespace
}  // namespace ferry::agent::nft
