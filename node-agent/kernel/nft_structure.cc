// The dumps of an owned table's fixed part and their parsers (the
// comparison is in nft_structure_compare.cc). Read with Ferry's own
// bounds-checked walk, never libnftnl's parsers: they exit() on an
// attribute of unexpected size (see nft_parse.cc).

#include "node-agent/kernel/nft_structure.h"

#include <arpa/inet.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node-agent/kernel/netlink_walk.h"
#include "node-agent/kernel/nft_handles.h"
#include "node-agent/kernel/nft_messages.h"

namespace ferry::agent::nft {
namespace {

constexpr size_t kRequestBytes = 512;
constexpr uint16_t Type(int msg) { return (NFNL_SUBSYS_NFTABLES << 8) | msg; }

absl::Status Malformed(absl::string_view object, absl::string_view what) {
  return absl::InternalError(absl::StrCat("malformed ", object, " dump message: ", what));
}

// A NUL-terminated string attribute, without the NUL.
std::optional<std::string> String(const nlattr* attr) {
  const absl::string_view v = AttributePayload(attr);
  if (v.empty() || v.back() != '\0') return std::nullopt;
  return std::string(v.substr(0, v.find('\0')));
}

std::optional<uint32_t> Be32(const nlattr* attr) {
  const absl::string_view v = AttributePayload(attr);
  if (v.size() != sizeof(uint32_t)) return std::nullopt;
  uint32_t x = 0;
  std::memcpy(&x, v.data(), sizeof(x));
  return ntohl(x);
}

std::optional<uint64_t> Be64(const nlattr* attr) {
  const absl::string_view v = AttributePayload(attr);
  if (v.size() != sizeof(uint64_t)) return std::nullopt;
  uint64_t x = 0;
  std::memcpy(&x, v.data(), sizeof(x));
  return be64toh(x);
}

// The attributes of an nf_tables message of `type`, or an error.
absl::StatusOr<absl::string_view> Attributes(const nlmsghdr* nlh, int type,
                                             absl::string_view object) {
  if (nlh->nlmsg_type != Type(type)) {
    return Malformed(object, absl::StrCat("message type ", nlh->nlmsg_type, ", want ", Type(type)));
  }
  if (MessagePayload(nlh, sizeof(nfgenmsg)) == nullptr) {
    return Malformed(object, absl::StrCat(nlh->nlmsg_len, " bytes are too short"));
  }
  return MessageAttributes(nlh, sizeof(nfgenmsg));
}

// The comment TLV of rule userdata ({u8 type, u8 len, value}...).
absl::StatusOr<std::string> UserdataComment(absl::string_view udata) {
  std::string comment;
  for (size_t offset = 0; offset < udata.size();) {
    if (udata.size() - offset < 2) return Malformed("rule", "userdata ends inside a TLV header");
    const auto type = static_cast<uint8_t>(udata[offset]);
    const auto len = static_cast<uint8_t>(udata[offset + 1]);
    if (len > udata.size() - offset - 2) return Malformed("rule", "userdata TLV overruns it");
    if (type == NFTNL_UDATA_RULE_COMMENT) {
      const char* text = udata.data() + offset + 2;
      comment.assign(text, strnlen(text, len));
    }
    offset += 2 + len;
  }
  return comment;
}

// "lookup @dnat4", "nat dnat", "meta": what tells Ferry's rules apart.
absl::StatusOr<std::string> ExpressionText(const nlattr* elem) {
  std::optional<std::string> name;
  std::string detail;
  AttributeWalker walk(AttributePayload(elem));
  while (const nlattr* attr = walk.Next()) {
    if (AttributeType(attr) == NFTA_EXPR_NAME) {
      name = String(attr);
      if (!name) return Malformed("rule", "expression name is not a string");
    } else if (AttributeType(attr) == NFTA_EXPR_DATA) {
      AttributeWalker data(AttributePayload(attr));
      while (const nlattr* d = data.Next()) {
        // NFTA_LOOKUP_SET and NFTA_NAT_TYPE are both attribute 1; which
        // one it is depends on the name, read in either order.
        if (AttributeType(d) != 1) continue;
        if (std::optional<std::string> s = String(d)) detail = absl::StrCat(" @", *s);
        if (std::optional<uint32_t> t = Be32(d)) {
          detail = *t == NFT_NAT_DNAT ? " dnat" : *t == NFT_NAT_SNAT ? " snat" : "";
        }
      }
      if (data.malformed()) return Malformed("rule", "expression data overruns it");
    }
  }
  if (walk.malformed() || !name) return Malformed("rule", "expression without a name");
  if (*name != "lookup" && *name != "nat") detail.clear();
  return absl::StrCat(*name, detail);
}

bool OurTable(const std::optional<std::string>& table, const TableShape& shape) {
  return table && *table == shape.table;
}

}  // namespace

NetlinkBatch BuildGetChains(uint32_t seq) {
  NetlinkBatch out(seq);
  out.Append(
      kRequestBytes,
      [&](char* buf, uint32_t s) {
        return nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_INET, NLM_F_DUMP, s);
      },
      "listing chains of family inet");
  return out;
}

NetlinkBatch BuildGetRules(uint32_t seq, absl::string_view table) {
  NetlinkBatch out(seq);
  out.Append(
      kRequestBytes,
      [&](char* buf, uint32_t s) {
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, s);
        RulePtr r(nftnl_rule_alloc());
        nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, std::string(table).c_str());
        nftnl_rule_nlmsg_build_payload(nlh, r.get());
        return nlh;
      },
      absl::StrCat("listing rules of table inet ", table));
  return out;
}

NetlinkBatch BuildGetSets(uint32_t seq, absl::string_view table) {
  NetlinkBatch out(seq);
  out.Append(
      kRequestBytes,
      [&](char* buf, uint32_t s) {
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, NFPROTO_INET, NLM_F_DUMP, s);
        SetPtr set(nftnl_set_alloc());
        nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, std::string(table).c_str());
        nftnl_set_nlmsg_build_payload(nlh, set.get());
        return nlh;
      },
      absl::StrCat("listing sets and maps of table inet ", table));
  return out;
}

absl::Status ParseChain(const nlmsghdr* nlh, TableShape* shape) {
  absl::StatusOr<absl::string_view> attrs = Attributes(nlh, NFT_MSG_NEWCHAIN, "chain");
  if (!attrs.ok()) return attrs.status();
  std::optional<std::string> table, name;
  ChainShape c;
  AttributeWalker walk(*attrs);
  while (const nlattr* attr = walk.Next()) {
    switch (AttributeType(attr)) {
      case NFTA_CHAIN_TABLE:
        table = String(attr);
        break;
      case NFTA_CHAIN_NAME:
        name = String(attr);
        break;
      case NFTA_CHAIN_TYPE:
        c.type = String(attr).value_or("?");
        break;
      case NFTA_CHAIN_POLICY:
        c.policy = Be32(attr);
        break;
      case NFTA_CHAIN_HOOK: {
        AttributeWalker hook(AttributePayload(attr));
        while (const nlattr* h = hook.Next()) {
          if (AttributeType(h) == NFTA_HOOK_HOOKNUM) c.hook = Be32(h);
          if (AttributeType(h) == NFTA_HOOK_PRIORITY) {
            if (std::optional<uint32_t> p = Be32(h)) c.priority = static_cast<int32_t>(*p);
          }
        }
        if (hook.malformed()) return Malformed("chain", "a hook attribute overruns the hook");
        break;
      }
      default:
        break;
    }
  }
  if (walk.malformed()) return Malformed("chain", "an attribute overruns the message");
  if (!OurTable(table, *shape)) return absl::OkStatus();
  if (!name) return Malformed("chain", absl::StrCat("chain of table ", *table, " without a name"));
  c.name = *name;
  shape->chains.push_back(std::move(c));
  return absl::OkStatus();
}

absl::Status ParseRule(const nlmsghdr* nlh, TableShape* shape) {
  absl::StatusOr<absl::string_view> attrs = Attributes(nlh, NFT_MSG_NEWRULE, "rule");
  if (!attrs.ok()) return attrs.status();
  std::optional<std::string> table, chain;
  RuleShape r;
  std::vector<std::string> exprs;
  AttributeWalker walk(*attrs);
  while (const nlattr* attr = walk.Next()) {
    switch (AttributeType(attr)) {
      case NFTA_RULE_TABLE:
        table = String(attr);
        break;
      case NFTA_RULE_CHAIN:
        chain = String(attr);
        break;
      case NFTA_RULE_HANDLE:
        r.handle = Be64(attr).value_or(0);
        break;
      case NFTA_RULE_USERDATA: {
        absl::StatusOr<std::string> tag = UserdataComment(AttributePayload(attr));
        if (!tag.ok()) return tag.status();
        r.tag = *std::move(tag);
        break;
      }
      case NFTA_RULE_EXPRESSIONS: {
        AttributeWalker list(AttributePayload(attr));
        while (const nlattr* elem = list.Next()) {
          if (AttributeType(elem) != NFTA_LIST_ELEM) continue;
          absl::StatusOr<std::string> text = ExpressionText(elem);
          if (!text.ok()) return text.status();
          exprs.push_back(*std::move(text));
        }
        if (list.malformed()) return Malformed("rule", "an expression overruns the list");
        break;
      }
      default:
        break;
    }
  }
  if (walk.malformed()) return Malformed("rule", "an attribute overruns the message");
  if (!OurTable(table, *shape)) return absl::OkStatus();
  if (!chain) return Malformed("rule", absl::StrCat("rule of table ", *table, " without a chain"));
  r.chain = *chain;
  r.expressions = absl::StrJoin(exprs, " ");
  shape->rules.push_back(std::move(r));
  return absl::OkStatus();
}

absl::Status ParseSet(const nlmsghdr* nlh, TableShape* shape) {
  absl::StatusOr<absl::string_view> attrs = Attributes(nlh, NFT_MSG_NEWSET, "set");
  if (!attrs.ok()) return attrs.status();
  std::optional<std::string> table, name;
  SetShape s;
  AttributeWalker walk(*attrs);
  while (const nlattr* attr = walk.Next()) {
    const uint16_t type = AttributeType(attr);
    if (type == NFTA_SET_TABLE) table = String(attr);
    if (type == NFTA_SET_NAME) name = String(attr);
    if (type == NFTA_SET_FLAGS) s.flags = Be32(attr).value_or(0);
    if (type == NFTA_SET_KEY_TYPE) s.key_type = Be32(attr).value_or(0);
    if (type == NFTA_SET_KEY_LEN) s.key_len = Be32(attr).value_or(0);
    if (type == NFTA_SET_DATA_TYPE) s.data_type = Be32(attr).value_or(0);
    if (type == NFTA_SET_DATA_LEN) s.data_len = Be32(attr).value_or(0);
  }
  if (walk.malformed()) return Malformed("set", "an attribute overruns the message");
  if (!OurTable(table, *shape) || (s.flags & NFT_SET_ANONYMOUS)) return absl::OkStatus();
  if (!name) return Malformed("set", absl::StrCat("set of table ", *table, " without a name"));
  s.name = *name;
  shape->sets.push_back(std::move(s));
  return absl::OkStatus();
}

TableShape ShapeOfBatch(const NetlinkBatch& batch, absl::string_view table) {
  TableShape shape;
  shape.table = std::string(table);
  for (size_t i = 0; i < batch.message_count(); ++i) {
    const nlmsghdr* nlh = batch.message(i);
    // Ferry's own messages parse; an error here would show as drift.
    if (nlh->nlmsg_type == Type(NFT_MSG_NEWCHAIN)) (void)ParseChain(nlh, &shape);
    if (nlh->nlmsg_type == Type(NFT_MSG_NEWRULE)) (void)ParseRule(nlh, &shape);
    if (nlh->nlmsg_type == Type(NFT_MSG_NEWSET)) (void)ParseSet(nlh, &shape);
  }
  return shape;
}

const TableShape& ExpectedShape() {
  static const TableShape* const kShape = [] {
    NatPlan plan;
    plan.create_table = true;
    absl::StatusOr<NetlinkBatch> batch = BuildNatBatch(plan, 1);
    return new TableShape(batch.ok() ? ShapeOfBatch(*batch, kTableName) : TableShape{});
  }();
  return *kShape;
}

}  // namespace ferry::agent::nft
