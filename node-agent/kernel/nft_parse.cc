// Decoding of set element dumps (NatBackend::Load), the inverse of the
// encoding in nft_elements.cc.

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "node-agent/kernel/nft_elements.h"
#include "node-agent/kernel/nft_handles.h"
#include "node-agent/kernel/nft_messages.h"

namespace ferry::agent::nft {
namespace {

struct ParseContext {
  NatSet set;
  NatState* state;
  absl::Status status;
};

std::string ElementComment(nftnl_set_elem* e) {
  uint32_t len = 0;
  const void* data = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
  std::string comment;
  if (data == nullptr) return comment;
  nftnl_udata_parse(
      data, len,
      [](const nftnl_udata* attr, void* out) -> int {
        if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT &&
            nftnl_udata_len(attr) > 0) {
          const char* text = static_cast<const char*>(nftnl_udata_get(attr));
          // Stored NUL-terminated; tolerate a missing terminator.
          static_cast<std::string*>(out)->assign(
              text, strnlen(text, nftnl_udata_len(attr)));
        }
        return 0;
      },
      &comment);
  return comment;
}

// addr (4/16 bytes) [. proto (padded to 4)] . port (network order, padded).
void Decode(const uint8_t* bytes, bool v4, bool with_proto, IpAddress* addr,
            uint8_t* proto, uint16_t* port) {
  *addr = IpAddress::FromBytes(v4 ? Family::kIPv4 : Family::kIPv6, bytes);
  size_t n = v4 ? 4 : 16;
  if (with_proto) {
    *proto = bytes[n];
    n += 4;
  }
  uint16_t be_port = 0;
  std::memcpy(&be_port, bytes + n, sizeof(be_port));
  *port = ntohs(be_port);
}

int OnElement(nftnl_set_elem* e, void* data) {
  auto* ctx = static_cast<ParseContext*>(data);
  const bool v4 = ctx->set == NatSet::kDnat4 || ctx->set == NatSet::kMasq4;
  const bool is_map = ctx->set == NatSet::kDnat4 || ctx->set == NatSet::kDnat6;
  uint32_t key_len = 0;
  const auto* key = static_cast<const uint8_t*>(
      nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &key_len));
  if (key == nullptr || key_len != KeyLength(v4)) {
    ctx->status = absl::FailedPreconditionError(absl::StrCat(
        SetNoun(ctx->set), " in table inet ferry holds an element with a ",
        key_len, "-byte key, want ", KeyLength(v4),
        " (was the table changed by hand?)"));
    return -1;
  }
  IpAddress addr;
  uint8_t proto = 0;
  uint16_t port = 0;
  Decode(key, v4, true, &addr, &proto, &port);
  if (!is_map) {
    ctx->state->masq[MasqKey{addr, proto, port}] = ElementComment(e);
    return 0;
  }
  uint32_t data_len = 0;
  const auto* target = static_cast<const uint8_t*>(
      nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &data_len));
  if (target == nullptr || data_len != TargetLength(v4)) {
    ctx->status = absl::FailedPreconditionError(absl::StrCat(
        "element ", DescribeKey(addr, proto, port), " of ", SetNoun(ctx->set),
        " has a ", data_len, "-byte value, want ", TargetLength(v4)));
    return -1;
  }
  DnatTarget t;
  uint8_t unused = 0;
  Decode(target, v4, false, &t.addr, &unused, &t.port);
  t.comment = ElementComment(e);
  ctx->state->dnat[DnatKey{addr, proto, port}] = std::move(t);
  return 0;
}

}  // namespace

absl::Status ParseSetElements(const nlmsghdr* nlh, NatState* state) {
  SetPtr s(nftnl_set_alloc());
  if (nftnl_set_elems_nlmsg_parse(nlh, s.get()) < 0) {
    return absl::InternalError("cannot parse a set element dump message");
  }
  const char* name = nftnl_set_get_str(s.get(), NFTNL_SET_NAME);
  ParseContext ctx{NatSet::kDnat4, state, absl::OkStatus()};
  bool known = false;
  for (NatSet set : kAllSets) {
    if (name != nullptr && std::strcmp(name, SetName(set)) == 0) {
      ctx.set = set;
      known = true;
    }
  }
  if (!known) {
    return absl::InternalError(absl::StrCat("element dump of unexpected set ",
                                            name ? name : "(unnamed)"));
  }
  nftnl_set_elem_foreach(s.get(), OnElement, &ctx);
  return ctx.status;
}

}  // namespace ferry::agent::nft
