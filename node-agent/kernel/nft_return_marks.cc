#include "node-agent/kernel/nft_return_marks.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_ipv4.h>

#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "node-agent/kernel/netlink_walk.h"
#include "node-agent/kernel/nft_expressions.h"
#include "node-agent/kernel/nft_handles.h"
#include "node-agent/kernel/nft_objects.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent::nft {
namespace {

// Upper bound of one element's encoding in a NEWSETELEM message (nests,
// 16-byte key, 4-byte value).
constexpr size_t kElementBytes = 64;

// nft's datatype ids (src/datatype.h).
constexpr uint32_t kTypeMark = 19;
constexpr uint32_t kTypeIfname = 41;
constexpr uint32_t kMarksSetId = 1;  // NFTA_SET_ID: the rule names the map of its batch
// BYTEORDER_HOST_ENDIAN in nft's set userdata: marks and names are not
// network-order numbers.
constexpr uint32_t kHostByteOrder = 1;

constexpr char kMarkInChain[] = "mark_in";
constexpr char kMarkOutChain[] = "mark_out";

std::string TableText() { return absl::StrCat("table inet ", kReturnTableName); }

// A string attribute's value (NUL-terminated) or nullopt.
std::optional<absl::string_view> StringValue(const nlattr* attr) {
  const absl::string_view v = AttributePayload(attr);
  if (v.empty() || v.back() != '\0') return std::nullopt;
  return v.substr(0, v.find('\0'));
}

absl::Status Malformed(absl::string_view what) {
  return absl::InternalError(absl::StrCat("malformed element dump of map ", kMarksMapName, " in ",
                                          TableText(), ": ", what));
}

// `map marks { type ifname : mark }`, with the userdata nft writes for it.
void AppendMarksMap(NetlinkBatch& batch) {
  batch.Append(
      kObjectMessageBytes,
      [&](char* buf, uint32_t seq) {
        SetPtr s(nftnl_set_alloc());
        nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kReturnTableName);
        nftnl_set_set_str(s.get(), NFTNL_SET_NAME, kMarksMapName);
        nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
        nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, NFT_SET_MAP);
        nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, kTypeIfname);
        nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, kIfnameKeyLength);
        nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, kTypeMark);
        nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_LEN, sizeof(uint32_t));
        nftnl_set_set_u32(s.get(), NFTNL_SET_ID, kMarksSetId);
        UdataBufPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
        nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_KEYBYTEORDER, kHostByteOrder);
        nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_DATABYTEORDER, kHostByteOrder);
        nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_DATA_INTERVAL, 0);
        nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()),
                           nftnl_udata_buf_len(ud.get()));
        nlmsghdr* nlh =
            nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE | NLM_F_ACK, seq);
        nftnl_set_nlmsg_build_payload(nlh, s.get());
        return nlh;
      },
      absl::StrCat("adding map ", kMarksMapName, " to ", TableText()));
  batch.MarkNeedsKernelFeature();
}

// ct state new ct mark 0 ct mark set iifname map @marks: only connections
// no other tool marked, so Ferry never overwrites another's bits (the
// kernel cannot OR a register into a mark before 6.13).
RulePtr MarkInRule() {
  RulePtr r(nftnl_rule_alloc());
  const uint32_t zero = 0;
  Add(r.get(), Ct(NFT_CT_STATE, NFT_REG_1));
  Add(r.get(), BitwiseAnd(NFT_REG_1, NF_CT_STATE_BIT(IP_CT_NEW)));
  Add(r.get(), Cmp(NFT_REG_1, NFT_CMP_NEQ, &zero, sizeof(zero)));
  Add(r.get(), Ct(NFT_CT_MARK, NFT_REG_1));
  Add(r.get(), Cmp(NFT_REG_1, NFT_CMP_EQ, &zero, sizeof(zero)));
  Add(r.get(), Meta(NFT_META_IIFNAME, NFT_REG_1));
  Add(r.get(), Lookup(kMarksMapName, kMarksSetId, NFT_REG_1));
  Add(r.get(), CtSet(NFT_CT_MARK, NFT_REG_1));
  return r;
}

// meta mark 0 ct mark and MASK != 0 meta mark set ct mark and MASK: the
// local replies of a marked connection carry Ferry's bits, for the policy
// rules to route them; an already marked packet is left alone.
RulePtr MarkOutRule() {
  RulePtr r(nftnl_rule_alloc());
  const uint32_t zero = 0;
  Add(r.get(), Meta(NFT_META_MARK, NFT_REG_1));
  Add(r.get(), Cmp(NFT_REG_1, NFT_CMP_EQ, &zero, sizeof(zero)));
  Add(r.get(), Ct(NFT_CT_MARK, NFT_REG_1));
  Add(r.get(), BitwiseAnd(NFT_REG_1, kReturnMarkMask));
  Add(r.get(), Cmp(NFT_REG_1, NFT_CMP_NEQ, &zero, sizeof(zero)));
  Add(r.get(), Ct(NFT_CT_MARK, NFT_REG_1));
  Add(r.get(), BitwiseAnd(NFT_REG_1, kReturnMarkMask));
  Add(r.get(), MetaSet(NFT_META_MARK, NFT_REG_1));
  return r;
}

// The table rebuilt empty: everything but the elements.
void AppendTableObjects(NetlinkBatch& batch) {
  // NEWTABLE first so DELTABLE cannot fail on an absent table.
  AppendTable(batch, kReturnTableName, NFT_MSG_NEWTABLE, absl::StrCat("adding ", TableText()));
  AppendTable(batch, kReturnTableName, NFT_MSG_DELTABLE,
              absl::StrCat("deleting ", TableText(), " to rebuild it"));
  AppendTable(batch, kReturnTableName, NFT_MSG_NEWTABLE, absl::StrCat("adding ", TableText()));
  AppendMarksMap(batch);
  AppendChain(batch, kReturnTableName, kMarkInChain, "filter", NF_INET_PRE_ROUTING,
              NF_IP_PRI_MANGLE);
  AppendChain(batch, kReturnTableName, kMarkOutChain, "route", NF_INET_LOCAL_OUT, NF_IP_PRI_MANGLE);
  AppendRule(batch, kReturnTableName, kMarkInChain, kMarkInTag, MarkInRule(),
             "adding rule to chain mark_in: ct state new ct mark 0 ct mark set iifname map "
             "@marks");
  AppendRule(batch, kReturnTableName, kMarkOutChain, kMarkOutTag, MarkOutRule(),
             "adding rule to chain mark_out: meta mark 0 ct mark and 0xff000000 != 0 meta mark "
             "set ct mark and 0xff000000");
}

void AppendElements(NetlinkBatch& batch, const std::map<std::string, uint32_t>& marks) {
  const std::string noun = absl::StrCat("map ", kMarksMapName);
  std::vector<uint32_t> offsets;
  batch.Append(
      kObjectMessageBytes + marks.size() * kElementBytes,
      [&](char* buf, uint32_t seq) {
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET,
                                              NLM_F_CREATE | NLM_F_ACK, seq);
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, kReturnTableName);
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, kMarksMapName);
        mnl_attr_put_u32(nlh, NFTA_SET_ELEM_LIST_SET_ID, htonl(kMarksSetId));
        nlattr* list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
        for (const auto& [name, mark] : marks) {
          char key[kIfnameKeyLength] = {};
          std::memcpy(key, name.data(), name.size());  // validated: < 16 bytes
          offsets.push_back(nlh->nlmsg_len);
          nlattr* nest = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
          SetElemPtr e(nftnl_set_elem_alloc());
          nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, key, sizeof(key));
          nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_DATA, &mark, sizeof(mark));
          nftnl_set_elem_nlmsg_build_payload(nlh, e.get());
          mnl_attr_nest_end(nlh, nest);
        }
        mnl_attr_nest_end(nlh, list);
        return nlh;
      },
      absl::StrCat("adding ", marks.size(), " elements to ", noun));
  size_t i = 0;
  for (const auto& [name, mark] : marks) {
    batch.LabelAttribute(offsets[i++],
                         absl::StrCat("adding element ", DescribeMark(name, mark), " to ", noun));
  }
}

// The value inside an nft_data nest (NFTA_SET_ELEM_KEY / _DATA).
absl::StatusOr<absl::string_view> DataValue(const nlattr* nest, absl::string_view what) {
  std::optional<absl::string_view> value;
  AttributeWalker walk(AttributePayload(nest));
  while (const nlattr* attr = walk.Next()) {
    if (AttributeType(attr) == NFTA_DATA_VALUE) value = AttributePayload(attr);
    if (AttributeType(attr) == NFTA_DATA_VERDICT) {
      return Malformed(absl::StrCat("an element ", what, " is a verdict"));
    }
  }
  if (walk.malformed()) return Malformed(absl::StrCat("an element ", what, " overruns it"));
  if (!value.has_value()) return Malformed(absl::StrCat("an element ", what, " has no value"));
  return *value;
}

// One NFTA_LIST_ELEM as (interface, mark).
absl::StatusOr<std::pair<std::string, uint32_t>> ParseMarkElement(const nlattr* elem) {
  std::optional<absl::string_view> key, data;
  AttributeWalker walk(AttributePayload(elem));
  while (const nlattr* attr = walk.Next()) {
    const uint16_t type = AttributeType(attr);
    if (type != NFTA_SET_ELEM_KEY && type != NFTA_SET_ELEM_DATA) continue;
    absl::StatusOr<absl::string_view> v =
        DataValue(attr, type == NFTA_SET_ELEM_KEY ? "key" : "value");
    if (!v.ok()) return v.status();
    (type == NFTA_SET_ELEM_KEY ? key : data) = *v;
  }
  if (walk.malformed()) return Malformed("an element attribute overruns its element");
  const size_t key_len = key ? key->size() : 0;
  if (key_len != kIfnameKeyLength) {
    return absl::FailedPreconditionError(absl::StrCat(
        "map ", kMarksMapName, " in ", TableText(), " holds an element with a ", key_len,
        "-byte key, want ", kIfnameKeyLength, " (was the table changed by hand?)"));
  }
  std::string name(key->data(), strnlen(key->data(), key->size()));
  const size_t data_len = data ? data->size() : 0;
  if (data_len != sizeof(uint32_t)) {
    return absl::FailedPreconditionError(absl::StrCat("element \"", name, "\" of map ",
                                                      kMarksMapName, " has a ", data_len,
                                                      "-byte value, want ", sizeof(uint32_t)));
  }
  uint32_t mark = 0;
  std::memcpy(&mark, data->data(), sizeof(mark));  // host byte order
  return std::make_pair(std::move(name), mark);
}

}  // namespace

std::string DescribeMark(const std::string& interface, uint32_t mark) {
  return absl::StrCat("\"", interface, "\" : 0x", absl::Hex(mark, absl::kZeroPad8));
}

absl::Status ValidateReturnMarks(const std::map<std::string, uint32_t>& marks) {
  if (marks.size() > kMaxReturnMarks) {
    return absl::InvalidArgumentError(
        absl::StrCat("map ", kMarksMapName, ": ", marks.size(), " interfaces, at most ",
                     kMaxReturnMarks, " (one per mark in 0x", absl::Hex(kReturnMarkMask), ")"));
  }
  for (const auto& [name, mark] : marks) {
    const std::string where =
        absl::StrCat("element ", DescribeMark(name, mark), " of map ", kMarksMapName);
    if (name.empty() || name.size() >= kIfnameKeyLength) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": interface name is ", name.size(),
                                                     " bytes, want 1 to ", kIfnameKeyLength - 1));
    }
    if (name.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": interface name holds a NUL byte"));
    }
    if (mark == 0 || (mark & ~kReturnMarkMask) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": mark must be nonzero and within Ferry's bits 0x",
                       absl::Hex(kReturnMarkMask, absl::kZeroPad8)));
    }
    if (mark == kProbeMark) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": mark 0x", absl::Hex(kProbeMark, absl::kZeroPad8),
          " is the data-path probe's; return marks are 1..", kMaxReturnMarks, " in the top byte"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<NetlinkBatch> BuildMarkTableBatch(const std::map<std::string, uint32_t>& marks,
                                                 uint32_t first_seq) {
  if (absl::Status s = ValidateReturnMarks(marks); !s.ok()) return s;
  if (marks.empty()) return BuildDeleteMarkTableBatch(first_seq);
  NetlinkBatch batch(first_seq);
  AppendBatchBegin(batch);
  AppendTableObjects(batch);
  AppendElements(batch, marks);
  AppendBatchEnd(batch);
  return batch;
}

NetlinkBatch BuildDeleteMarkTableBatch(uint32_t first_seq) {
  NetlinkBatch batch(first_seq);
  AppendBatchBegin(batch);
  // NEWTABLE first so DELTABLE cannot fail on an absent table.
  AppendTable(batch, kReturnTableName, NFT_MSG_NEWTABLE,
              absl::StrCat("adding ", TableText(), " to delete it"));
  AppendTable(batch, kReturnTableName, NFT_MSG_DELTABLE, absl::StrCat("deleting ", TableText()));
  AppendBatchEnd(batch);
  return batch;
}

NetlinkBatch BuildGetMarkTable(uint32_t seq) {
  NetlinkBatch batch(seq);
  AppendTable(batch, kReturnTableName, NFT_MSG_GETTABLE, absl::StrCat("reading ", TableText()));
  return batch;
}

NetlinkBatch BuildGetMarkElements(uint32_t seq) {
  NetlinkBatch batch(seq);
  batch.Append(
      kObjectMessageBytes,
      [&](char* buf, uint32_t s) {
        SetPtr set(nftnl_set_alloc());
        nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, kReturnTableName);
        nftnl_set_set_str(set.get(), NFTNL_SET_NAME, kMarksMapName);
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, s);
        nftnl_set_elems_nlmsg_build_payload(nlh, set.get());
        return nlh;
      },
      absl::StrCat("listing elements of map ", kMarksMapName, " in ", TableText()));
  return batch;
}

absl::Status ParseMarkElements(const nlmsghdr* nlh, std::map<std::string, uint32_t>* marks) {
  constexpr uint16_t kNewSetElem = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM;
  if (nlh->nlmsg_type != kNewSetElem) {
    return Malformed(absl::StrCat("message type ", nlh->nlmsg_type, ", want ", kNewSetElem));
  }
  if (MessagePayload(nlh, sizeof(nfgenmsg)) == nullptr) {
    return Malformed(absl::StrCat(nlh->nlmsg_len, " bytes are too short for the nfgenmsg"));
  }
  std::optional<absl::string_view> table, set;
  std::map<std::string, uint32_t> parsed;
  AttributeWalker walk(MessageAttributes(nlh, sizeof(nfgenmsg)));
  while (const nlattr* attr = walk.Next()) {
    switch (AttributeType(attr)) {
      case NFTA_SET_ELEM_LIST_TABLE:
        table = StringValue(attr);
        if (!table) return Malformed("table name is not a NUL-terminated string");
        break;
      case NFTA_SET_ELEM_LIST_SET:
        set = StringValue(attr);
        if (!set) return Malformed("set name is not a NUL-terminated string");
        break;
      case NFTA_SET_ELEM_LIST_ELEMENTS: {
        AttributeWalker list(AttributePayload(attr));
        while (const nlattr* elem = list.Next()) {
          if (AttributeType(elem) != NFTA_LIST_ELEM) continue;
          absl::StatusOr<std::pair<std::string, uint32_t>> e = ParseMarkElement(elem);
          if (!e.ok()) return e.status();
          parsed.insert_or_assign(std::move(e->first), e->second);
        }
        if (list.malformed()) return Malformed("an element overruns the element list");
        break;
      }
      default:
        break;
    }
  }
  if (walk.malformed()) return Malformed("an attribute overruns the message");
  if (set != kMarksMapName || (table.has_value() && *table != kReturnTableName)) {
    return absl::InternalError(
        absl::StrCat("element dump of unexpected set ", table ? *table : "(no table)", " ",
                     set ? *set : "(unnamed)", ", want ", kReturnTableName, " ", kMarksMapName));
  }
  // All or nothing: a bad element leaves `marks` as it was.
  for (auto& [name, mark] : parsed) marks->insert_or_assign(name, mark);
  return absl::OkStatus();
}

const TableShape& ExpectedMarkShape() {
  static const TableShape* const kShape = [] {
    NetlinkBatch batch(1);
    AppendTableObjects(batch);
    return new TableShape(ShapeOfBatch(batch, kReturnTableName));
  }();
  return *kShape;
}

}  // namespace ferry::agent::nft
