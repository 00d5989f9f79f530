#include "node-agent/kernel/nft_messages.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_ipv4.h>

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "node-agent/kernel/nft_elements.h"
#include "node-agent/kernel/nft_expressions.h"
#include "node-agent/kernel/nft_handles.h"
#include "node-agent/kernel/nft_objects.h"

namespace ferry::agent::nft {
namespace {

// nft's datatype ids (src/datatype.h) and concatenation encoding
// (id << 6 | next id).
constexpr uint32_t kTypeIpv4Addr = 7;
constexpr uint32_t kTypeIpv6Addr = 8;
constexpr uint32_t kTypeInetProto = 12;
constexpr uint32_t kTypeInetService = 13;
constexpr uint32_t kTypeBits = 6;
constexpr uint32_t kExprConcat = 13;  // nft's EXPR_CONCAT, in set typeof udata

struct SetSpec {
  NatSet set;
  bool is_map;
  bool v4;
  uint32_t id;  // NFTA_SET_ID, so rules can name a set of the same batch
  const char* comment;
};

constexpr SetSpec kSetSpecs[] = {
    {NatSet::kDnat4, true, true, 1, kDnat4Comment},
    {NatSet::kDnat6, true, false, 2, nullptr},
    {NatSet::kMasq4, false, true, 3, nullptr},
    {NatSet::kMasq6, false, false, 4, nullptr},
};

uint32_t SetId(NatSet set) { return kSetSpecs[static_cast<int>(set)].id; }

// Userdata exactly as nft writes it for `type a . b . c [: d . e]`:
// byte orders, a typeof nest naming a concat without sub-expressions (so
// nft falls back to the key/data type ids) and the comment.
void PutTypeofNest(nftnl_udata_buf* buf, uint8_t type) {
  nftnl_udata* outer = nftnl_udata_nest_start(buf, type);
  nftnl_udata_put_u32(buf, NFTNL_UDATA_SET_TYPEOF_EXPR, kExprConcat);
  nftnl_udata* data = nftnl_udata_nest_start(buf, NFTNL_UDATA_SET_TYPEOF_DATA);
  nftnl_udata_nest_end(buf, data);
  nftnl_udata_nest_end(buf, outer);
}

UdataBufPtr SetUserdata(const SetSpec& spec) {
  UdataBufPtr buf(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
  nftnl_udata_put_u32(buf.get(), NFTNL_UDATA_SET_KEYBYTEORDER, 0);
  if (spec.is_map) nftnl_udata_put_u32(buf.get(), NFTNL_UDATA_SET_DATABYTEORDER, 0);
  PutTypeofNest(buf.get(), NFTNL_UDATA_SET_KEY_TYPEOF);
  if (spec.is_map) {
    PutTypeofNest(buf.get(), NFTNL_UDATA_SET_DATA_TYPEOF);
    nftnl_udata_put_u32(buf.get(), NFTNL_UDATA_SET_DATA_INTERVAL, 0);
  }
  if (spec.comment != nullptr) {
    nftnl_udata_put_strz(buf.get(), NFTNL_UDATA_SET_COMMENT, spec.comment);
  }
  return buf;
}

void AppendSet(NetlinkBatch& batch, const SetSpec& spec) {
  batch.Append(
      kObjectMessageBytes,
      [&](char* buf, uint32_t seq) {
        SetPtr s(nftnl_set_alloc());
        nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTableName);
        nftnl_set_set_str(s.get(), NFTNL_SET_NAME, SetName(spec.set));
        nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
        nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, spec.is_map ? NFT_SET_MAP : 0);
        const uint32_t addr_type = spec.v4 ? kTypeIpv4Addr : kTypeIpv6Addr;
        const uint32_t key_type =
            (((addr_type << kTypeBits) | kTypeInetProto) << kTypeBits) | kTypeInetService;
        nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, key_type);
        nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, KeyLength(spec.v4));
        if (spec.is_map) {
          nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE,
                            (addr_type << kTypeBits) | kTypeInetService);
          nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_LEN, TargetLength(spec.v4));
        }
        nftnl_set_set_u32(s.get(), NFTNL_SET_ID, spec.id);
        UdataBufPtr ud = SetUserdata(spec);
        nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()),
                           nftnl_udata_buf_len(ud.get()));
        nlmsghdr* nlh =
            nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE | NLM_F_ACK, seq);
        nftnl_set_nlmsg_build_payload(nlh, s.get());
        return nlh;
      },
      absl::StrCat("adding ", SetNoun(spec.set), " to table inet ferry"));
  batch.MarkNeedsKernelFeature();
}

// The lookup of `set`, a set of the same batch.
nftnl_expr* Lookup(NatSet set, bool with_dreg) {
  return nft::Lookup(SetName(set), SetId(set),
                     with_dreg ? std::optional<uint32_t>(NFT_REG_1) : std::nullopt);
}

// `ip daddr . meta l4proto . th dport` for one family: nfproto check, then
// the three fields into consecutive 32-bit registers starting at reg 1.
void AddKeyLoad(nftnl_rule* r, bool v4, uint32_t* proto_reg) {
  const uint8_t nfproto = v4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
  Add(r, Meta(NFT_META_NFPROTO, NFT_REG_1));
  Add(r, Cmp(NFT_REG_1, NFT_CMP_EQ, &nfproto, sizeof(nfproto)));
  Add(r, Payload(NFT_PAYLOAD_NETWORK_HEADER, v4 ? 16 : 24, v4 ? 4 : 16, NFT_REG_1));
  *proto_reg = v4 ? NFT_REG32_01 : NFT_REG_2;
  Add(r, Meta(NFT_META_L4PROTO, *proto_reg));
  Add(r, Payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, v4 ? NFT_REG32_02 : NFT_REG32_05));
}

// `meta mark & 0xff000000 == 0xff000000`: the data-path probe's packets
// (kProbeMark within Ferry's bits of the mark), as nft writes it.
void AddProbeMarkMatch(nftnl_rule* r) {
  Add(r, Meta(NFT_META_MARK, NFT_REG_1));
  Add(r, BitwiseAnd(NFT_REG_1, kReturnMarkMask));
  const uint32_t mark = kProbeMark;  // host byte order, as the register holds it
  Add(r, Cmp(NFT_REG_1, NFT_CMP_EQ, &mark, sizeof(mark)));
}

// `dnat ip to ip daddr . meta l4proto . th dport map @dnat4` (or ip6).
// With `probe_only`, only for the probe's packets: the output hook's
// rule, which sends a probe from the frontend through the forward's real
// element.
RulePtr DnatRule(bool v4, bool probe_only = false) {
  RulePtr r(nftnl_rule_alloc());
  if (probe_only) AddProbeMarkMatch(r.get());
  uint32_t proto_reg = 0;
  AddKeyLoad(r.get(), v4, &proto_reg);
  Add(r.get(), Lookup(v4 ? NatSet::kDnat4 : NatSet::kDnat6, true));
  nftnl_expr* nat = nftnl_expr_alloc("nat");
  nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
  nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_FAMILY, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
  nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
  nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_REG_PROTO_MIN, proto_reg);
  Add(r.get(), nat);
  return r;
}

// A probe packet no element matched (the DNAT is a terminal verdict) is
// dropped: its destination, the frontend address, is this node's own, and
// a local service there must not answer for the backend.
RulePtr ProbeDropRule() {
  RulePtr r(nftnl_rule_alloc());
  AddProbeMarkMatch(r.get());
  Add(r.get(), Verdict(NF_DROP));
  return r;
}

RulePtr MasqRule(bool v4) {
  RulePtr r(nftnl_rule_alloc());
  Add(r.get(), Ct(NFT_CT_STATUS, NFT_REG_1));
  Add(r.get(), BitwiseAnd(NFT_REG_1, IPS_DST_NAT));
  const uint32_t zero = 0;
  Add(r.get(), Cmp(NFT_REG_1, NFT_CMP_NEQ, &zero, sizeof(zero)));
  uint32_t proto_reg = 0;
  AddKeyLoad(r.get(), v4, &proto_reg);
  Add(r.get(), Lookup(v4 ? NatSet::kMasq4 : NatSet::kMasq6, false));
  Add(r.get(), nftnl_expr_alloc("masq"));
  return r;
}

void AppendTableObjects(NetlinkBatch& batch) {
  // NEWTABLE first so DELTABLE cannot fail on an absent table.
  AppendTable(batch, kTableName, NFT_MSG_NEWTABLE, "adding table inet ferry");
  AppendTable(batch, kTableName, NFT_MSG_DELTABLE, "deleting table inet ferry to rebuild it");
  AppendTable(batch, kTableName, NFT_MSG_NEWTABLE, "adding table inet ferry");
  for (const SetSpec& spec : kSetSpecs) AppendSet(batch, spec);
  AppendChain(batch, kTableName, "prerouting", "nat", NF_INET_PRE_ROUTING, NF_IP_PRI_NAT_DST);
  AppendChain(batch, kTableName, "postrouting", "nat", NF_INET_POST_ROUTING, NF_IP_PRI_NAT_SRC);
  AppendRule(batch, kTableName, "prerouting", RuleTag(NatSet::kDnat4), DnatRule(true),
             "adding rule to chain prerouting: dnat ip to ip daddr . meta "
             "l4proto . th dport map @dnat4");
  AppendRule(batch, kTableName, "prerouting", RuleTag(NatSet::kDnat6), DnatRule(false),
             "adding rule to chain prerouting: dnat ip6 to ip6 daddr . meta "
             "l4proto . th dport map @dnat6");
  AppendRule(batch, kTableName, "postrouting", RuleTag(NatSet::kMasq4), MasqRule(true),
             "adding rule to chain postrouting: ct status dnat ip daddr . "
             "meta l4proto . th dport @masq4 masquerade");
  AppendRule(batch, kTableName, "postrouting", RuleTag(NatSet::kMasq6), MasqRule(false),
             "adding rule to chain postrouting: ct status dnat ip6 daddr . "
             "meta l4proto . th dport @masq6 masquerade");
  // The data-path probe's DNAT (node-agent/probe/): after the rules above,
  // so the message indices of the prerouting and postrouting objects are
  // as before.
  AppendChain(batch, kTableName, "output", "nat", NF_INET_LOCAL_OUT, NF_IP_PRI_NAT_DST);
  AppendRule(batch, kTableName, "output", ProbeRuleTag(true), DnatRule(true, /*probe_only=*/true),
             "adding rule to chain output: meta mark & 0xff000000 == 0xff000000 dnat ip "
             "to ip daddr . meta l4proto . th dport map @dnat4");
  AppendRule(batch, kTableName, "output", ProbeRuleTag(false), DnatRule(false, /*probe_only=*/true),
             "adding rule to chain output: meta mark & 0xff000000 == 0xff000000 dnat ip6 "
             "to ip6 daddr . meta l4proto . th dport map @dnat6");
  AppendRule(batch, kTableName, "output", kProbeDropTag, ProbeDropRule(),
             "adding rule to chain output: meta mark & 0xff000000 == 0xff000000 drop");
}

}  // namespace

const char* SetName(NatSet set) {
  switch (set) {
    case NatSet::kDnat4:
      return "dnat4";
    case NatSet::kDnat6:
      return "dnat6";
    case NatSet::kMasq4:
      return "masq4";
    case NatSet::kMasq6:
      return "masq6";
  }
  return "?";
}

std::string RuleTag(NatSet set) { return absl::StrCat("ferry:", SetName(set)); }

std::string ProbeRuleTag(bool v4) { return v4 ? "ferry:probe4" : "ferry:probe6"; }

std::string SetNoun(NatSet set) {
  const bool is_map = set == NatSet::kDnat4 || set == NatSet::kDnat6;
  return absl::StrCat(is_map ? "map " : "set ", SetName(set));
}

absl::StatusOr<NetlinkBatch> BuildNatBatch(const NatPlan& plan, uint32_t first_seq) {
  absl::StatusOr<ElementOps> ops = PlanElementOps(plan);
  if (!ops.ok()) return ops.status();
  NetlinkBatch batch(first_seq);
  AppendBatchBegin(batch);
  if (plan.create_table) {
    AppendTableObjects(batch);
  } else {
    for (const SetOps& set_ops : ops->deletes) {
      AppendElementMessages(batch, set_ops, /*add=*/false, /*set_id=*/0);
    }
  }
  for (const SetOps& set_ops : ops->adds) {
    AppendElementMessages(batch, set_ops, /*add=*/true, plan.create_table ? SetId(set_ops.set) : 0);
  }
  AppendBatchEnd(batch);
  return batch;
}

NetlinkBatch BuildGetTable(uint32_t seq) {
  NetlinkBatch batch(seq);
  AppendTable(batch, kTableName, NFT_MSG_GETTABLE, "reading table inet ferry");
  return batch;
}

NetlinkBatch BuildGetSetElements(NatSet set, uint32_t seq) {
  NetlinkBatch batch(seq);
  batch.Append(
      kObjectMessageBytes,
      [&](char* buf, uint32_t s) {
        SetPtr nls(nftnl_set_alloc());
        nftnl_set_set_str(nls.get(), NFTNL_SET_TABLE, kTableName);
        nftnl_set_set_str(nls.get(), NFTNL_SET_NAME, SetName(set));
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, s);
        nftnl_set_elems_nlmsg_build_payload(nlh, nls.get());
        return nlh;
      },
      absl::StrCat("listing elements of ", SetNoun(set), " in table inet ferry"));
  return batch;
}

}  // namespace ferry::agent::nft
