// Decoding of set element dumps (NatBackend::Load), the inverse of the
// encoding in nft_elements.cc.
//
// Read with Ferry's own bounds-checked walk, not libnftnl: libnftnl 1.2.4's
// nftnl_set_elems_nlmsg_parse exit()s on an attribute of the wrong size
// ("nf_tables kernel ABI is broken"), dereferences a NULL expression name
// and writes past its attribute table for types above NFTA_SET_ELEM_MAX.
// Here every length is checked and anything malformed is an error.

#include <arpa/inet.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node-agent/kernel/netlink_walk.h"
#include "node-agent/kernel/nft_elements.h"
#include "node-agent/kernel/nft_messages.h"

namespace ferry::agent::nft {
namespace {

absl::Status Malformed(absl::string_view what) {
  return absl::InternalError(absl::StrCat("malformed set element dump message: ", what));
}

// One NFTA_LIST_ELEM, its fields still encoded.
struct RawElement {
  std::optional<absl::string_view> key;
  std::optional<absl::string_view> data;
  std::string comment;
};

// The NFTA_DATA_VALUE inside an nft_data nest (NFTA_SET_ELEM_KEY/DATA).
absl::StatusOr<absl::string_view> DataValue(const nlattr* nest, absl::string_view what) {
  std::optional<absl::string_view> value;
  AttributeWalker walk(AttributePayload(nest));
  while (const nlattr* attr = walk.Next()) {
    switch (AttributeType(attr)) {
      case NFTA_DATA_VALUE:
        value = AttributePayload(attr);
        break;
      case NFTA_DATA_VERDICT:
        return Malformed(absl::StrCat(what, " is a verdict, not a value"));
    }
  }
  if (walk.malformed()) {
    return Malformed(absl::StrCat(what, " has an attribute overrunning it"));
  }
  if (!value.has_value()) return Malformed(absl::StrCat(what, " has no value"));
  return *value;
}

// The comment TLV (NFTNL_UDATA_SET_ELEM_COMMENT) of element userdata: a
// sequence of {u8 type, u8 length, value}, the comment NUL-terminated.
absl::StatusOr<std::string> UserdataComment(absl::string_view udata) {
  std::string comment;
  size_t offset = 0;
  while (offset < udata.size()) {
    if (udata.size() - offset < 2) {
      return Malformed("element userdata ends inside a TLV header");
    }
    const auto type = static_cast<uint8_t>(udata[offset]);
    const auto len = static_cast<uint8_t>(udata[offset + 1]);
    if (len > udata.size() - offset - 2) {
      return Malformed("element userdata TLV overruns the userdata");
    }
    if (type == NFTNL_UDATA_SET_ELEM_COMMENT) {
      // Stored NUL-terminated; tolerate a missing terminator.
      const char* text = udata.data() + offset + 2;
      comment.assign(text, strnlen(text, len));
    }
    offset += 2 + len;
  }
  return comment;
}

absl::StatusOr<RawElement> ParseElement(const nlattr* elem) {
  RawElement raw;
  AttributeWalker walk(AttributePayload(elem));
  while (const nlattr* attr = walk.Next()) {
    switch (AttributeType(attr)) {
      case NFTA_SET_ELEM_KEY: {
        absl::StatusOr<absl::string_view> key = DataValue(attr, "element key");
        if (!key.ok()) return key.status();
        raw.key = *key;
        break;
      }
      case NFTA_SET_ELEM_DATA: {
        absl::StatusOr<absl::string_view> data = DataValue(attr, "element data");
        if (!data.ok()) return data.status();
        raw.data = *data;
        break;
      }
      case NFTA_SET_ELEM_USERDATA: {
        absl::StatusOr<std::string> c = UserdataComment(AttributePayload(attr));
        if (!c.ok()) return c.status();
        raw.comment = *std::move(c);
        break;
      }
      default:
        break;  // flags, timeouts, expressions: not Ferry's concern
    }
  }
  if (walk.malformed()) {
    return Malformed("an element attribute overruns its element");
  }
  return raw;
}

// addr (4/16 bytes) [. proto (padded to 4)] . port (network order, padded).
// `bytes` holds KeyLength/TargetLength bytes (checked by the caller).
void Decode(const char* bytes, bool v4, bool with_proto, IpAddress* addr, uint8_t* proto,
            uint16_t* port) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes);
  *addr = IpAddress::FromBytes(v4 ? Family::kIPv4 : Family::kIPv6, b);
  size_t n = v4 ? 4 : 16;
  if (with_proto) {
    *proto = b[n];
    n += 4;
  }
  uint16_t be_port = 0;
  std::memcpy(&be_port, b + n, sizeof(be_port));
  *port = ntohs(be_port);
}

// Adds one element of `set` to `out`; FAILED_PRECONDITION for an element
// Ferry could not have written.
absl::Status AddElement(NatSet set, const RawElement& raw, NatState* out) {
  const bool v4 = set == NatSet::kDnat4 || set == NatSet::kMasq4;
  const bool is_map = set == NatSet::kDnat4 || set == NatSet::kDnat6;
  const size_t key_len = raw.key ? raw.key->size() : 0;
  if (key_len != KeyLength(v4)) {
    return absl::FailedPreconditionError(
        absl::StrCat(SetNoun(set), " in table inet ferry holds an element with a ", key_len,
                     "-byte key, want ", KeyLength(v4), " (was the table changed by hand?)"));
  }
  IpAddress addr;
  uint8_t proto = 0;
  uint16_t port = 0;
  Decode(raw.key->data(), v4, true, &addr, &proto, &port);
  if (!is_map) {
    out->masq[MasqKey{addr, proto, port}] = raw.comment;
    return absl::OkStatus();
  }
  const size_t data_len = raw.data ? raw.data->size() : 0;
  if (data_len != TargetLength(v4)) {
    return absl::FailedPreconditionError(absl::StrCat("element ", DescribeKey(addr, proto, port),
                                                      " of ", SetNoun(set), " has a ", data_len,
                                                      "-byte value, want ", TargetLength(v4)));
  }
  DnatTarget t;
  uint8_t unused = 0;
  Decode(raw.data->data(), v4, false, &t.addr, &unused, &t.port);
  t.comment = raw.comment;
  out->dnat[DnatKey{addr, proto, port}] = std::move(t);
  return absl::OkStatus();
}

std::optional<NatSet> SetByName(absl::string_view name) {
  for (NatSet set : kAllSets) {
    if (name == SetName(set)) return set;
  }
  return std::nullopt;
}

}  // namespace

absl::Status ParseSetElements(const nlmsghdr* nlh, NatState* state) {
  constexpr uint16_t kNewSetElem = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM;
  if (nlh->nlmsg_type != kNewSetElem) {
    return Malformed(
        absl::StrCat("message type ", nlh->nlmsg_type, " is not NEWSETELEM (", kNewSetElem, ")"));
  }
  if (MessagePayload(nlh, sizeof(nfgenmsg)) == nullptr) {
    return Malformed(absl::StrCat(nlh->nlmsg_len, " bytes are too short for the nfgenmsg"));
  }
  std::optional<absl::string_view> set_name;
  std::vector<RawElement> elements;
  AttributeWalker walk(MessageAttributes(nlh, sizeof(nfgenmsg)));
  while (const nlattr* attr = walk.Next()) {
    if (AttributeType(attr) == NFTA_SET_ELEM_LIST_SET) {
      const absl::string_view name = AttributePayload(attr);
      if (name.empty() || name.back() != '\0') {
        return Malformed("set name is not a NUL-terminated string");
      }
      set_name = name.substr(0, name.find('\0'));
    } else if (AttributeType(attr) == NFTA_SET_ELEM_LIST_ELEMENTS) {
      AttributeWalker list(AttributePayload(attr));
      while (const nlattr* elem = list.Next()) {
        if (AttributeType(elem) != NFTA_LIST_ELEM) continue;
        absl::StatusOr<RawElement> raw = ParseElement(elem);
        if (!raw.ok()) return raw.status();
        elements.push_back(*std::move(raw));
      }
      if (list.malformed()) {
        return Malformed("an element overruns the element list");
      }
    }
  }
  if (walk.malformed()) {
    return Malformed("an attribute overruns the message");
  }
  const std::optional<NatSet> set = set_name ? SetByName(*set_name) : std::nullopt;
  if (!set.has_value()) {
    return absl::InternalError(
        absl::StrCat("element dump of unexpected set ",
                     set_name ? std::string(*set_name) : std::string("(unnamed)")));
  }
  // All or nothing: a bad element leaves `state` as it was.
  NatState parsed;
  for (const RawElement& raw : elements) {
    if (absl::Status s = AddElement(*set, raw, &parsed); !s.ok()) return s;
  }
  for (auto& [key, target] : parsed.dnat) state->dnat[key] = std::move(target);
  for (auto& [key, comment] : parsed.masq) state->masq[key] = std::move(comment);
  return absl::OkStatus();
}

}  // namespace ferry::agent::nft
