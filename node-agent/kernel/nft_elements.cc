#include "node-agent/kernel/nft_elements.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "api/lib/protocol.h"
#include "node-agent/kernel/nft_handles.h"

namespace ferry::agent::nft {
namespace {

// Upper bound of one element's attributes beyond key, data and comment.
constexpr size_t kElementOverhead = 64;

// Writes addr, then (optionally) proto, then port, each padded to 4 bytes.
uint8_t Encode(const IpAddress& addr, const uint8_t* proto, uint16_t port, uint8_t* out) {
  size_t n = addr.size();
  std::memcpy(out, addr.data(), n);
  if (proto != nullptr) {
    out[n] = *proto;
    n += 4;
  }
  const uint16_t be_port = htons(port);
  std::memcpy(out + n, &be_port, sizeof(be_port));
  return static_cast<uint8_t>(n + 4);
}

absl::Status CheckComment(const std::string& comment, const std::string& label, NatSet set) {
  if (comment.size() > kMaxCommentLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("element ", label, " of ", SetNoun(set), ": comment is ", comment.size(),
                     " bytes, at most ", kMaxCommentLength, " allowed"));
  }
  return absl::OkStatus();
}

template <typename Key>
ElementOp KeyOp(const Key& key) {
  ElementOp op;
  op.key_len = Encode(key.daddr, &key.proto, key.port, op.key.data());
  op.label = DescribeKey(key.daddr, key.proto, key.port);
  return op;
}

SetOps& OpsFor(std::vector<SetOps>& groups, NatSet set) {
  for (SetOps& g : groups) {
    if (g.set == set) return g;
  }
  groups.push_back(SetOps{set, {}});
  return groups.back();
}

SetElemPtr MakeElement(const ElementOp& op, bool add) {
  SetElemPtr e(nftnl_set_elem_alloc());
  nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, op.key.data(), op.key_len);
  if (!add) return e;
  if (op.data_len > 0) {
    nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_DATA, op.data.data(), op.data_len);
  }
  if (op.comment != nullptr && !op.comment->empty()) {
    UdataBufPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
    nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_SET_ELEM_COMMENT, op.comment->c_str());
    nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(ud.get()),
                       nftnl_udata_buf_len(ud.get()));
  }
  return e;
}

NatSet DnatSet(const IpAddress& a) { return a.is_v4() ? NatSet::kDnat4 : NatSet::kDnat6; }
NatSet MasqSet(const IpAddress& a) { return a.is_v4() ? NatSet::kMasq4 : NatSet::kMasq6; }

}  // namespace

std::string DescribeKey(const IpAddress& addr, uint8_t proto, uint16_t port) {
  return absl::StrCat(addr.ToString(), " . ", ferry::api::IpProtocolName(proto), " . ", port);
}

absl::StatusOr<ElementOps> PlanElementOps(const NatPlan& plan) {
  ElementOps ops;
  for (const DnatKey& key : plan.dnat_delete) {
    OpsFor(ops.deletes, DnatSet(key.daddr)).elems.push_back(KeyOp(key));
  }
  for (const MasqKey& key : plan.masq_delete) {
    OpsFor(ops.deletes, MasqSet(key.daddr)).elems.push_back(KeyOp(key));
  }
  for (const auto& [key, target] : plan.dnat_add) {
    ElementOp op = KeyOp(key);
    const NatSet set = DnatSet(key.daddr);
    if (target.addr.family() != key.daddr.family()) {
      return absl::InvalidArgumentError(absl::StrCat("element ", op.label, " of ", SetNoun(set),
                                                     ": target address ", target.addr.ToString(),
                                                     " is not in the key's address family"));
    }
    if (absl::Status s = CheckComment(target.comment, op.label, set); !s.ok()) {
      return s;
    }
    op.data_len = Encode(target.addr, nullptr, target.port, op.data.data());
    op.comment = &target.comment;
    OpsFor(ops.adds, set).elems.push_back(std::move(op));
  }
  for (const auto& [key, comment] : plan.masq_add) {
    ElementOp op = KeyOp(key);
    const NatSet set = MasqSet(key.daddr);
    if (absl::Status s = CheckComment(comment, op.label, set); !s.ok()) return s;
    op.comment = &comment;
    OpsFor(ops.adds, set).elems.push_back(std::move(op));
  }
  return ops;
}

void AppendElementMessages(NetlinkBatch& batch, const SetOps& ops, bool add, uint32_t set_id) {
  const std::string noun = SetNoun(ops.set);
  const char* verb = add ? "adding element " : "deleting element ";
  const char* prep = add ? " to " : " from ";
  size_t first = 0;
  while (first < ops.elems.size()) {
    // Chunk by count and by an upper bound of the encoded size.
    size_t end = first;
    size_t bytes = 0;
    while (end < ops.elems.size() && end - first < kMaxElementsPerMessage) {
      const ElementOp& op = ops.elems[end];
      const size_t size =
          kElementOverhead + op.key_len + op.data_len + (op.comment ? op.comment->size() : 0);
      if (end > first && bytes + size > kMaxElementBytesPerMessage) break;
      bytes += size;
      ++end;
    }
    std::vector<uint32_t> offsets;
    offsets.reserve(end - first);
    batch.Append(
        bytes + 1024,
        [&](char* buf, uint32_t seq) {
          nlmsghdr* nlh =
              nftnl_nlmsg_build_hdr(buf, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
                                    NFPROTO_INET, (add ? NLM_F_CREATE : 0) | NLM_F_ACK, seq);
          mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, kTableName);
          mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, SetName(ops.set));
          if (set_id != 0) {
            mnl_attr_put_u32(nlh, NFTA_SET_ELEM_LIST_SET_ID, htonl(set_id));
          }
          nlattr* list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
          for (size_t i = first; i < end; ++i) {
            offsets.push_back(nlh->nlmsg_len);
            nlattr* nest = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
            SetElemPtr e = MakeElement(ops.elems[i], add);
            nftnl_set_elem_nlmsg_build_payload(nlh, e.get());
            mnl_attr_nest_end(nlh, nest);
          }
          mnl_attr_nest_end(nlh, list);
          return nlh;
        },
        absl::StrCat(add ? "adding " : "deleting ", end - first, " elements", prep, noun));
    for (size_t i = first; i < end; ++i) {
      batch.LabelAttribute(offsets[i - first], absl::StrCat(verb, ops.elems[i].label, prep, noun));
    }
    first = end;
  }
}

}  // namespace ferry::agent::nft
