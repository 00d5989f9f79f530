#ifndef FERRY_NODE_AGENT_KERNEL_NETLINK_WALK_H_
#define FERRY_NODE_AGENT_KERNEL_NETLINK_WALK_H_

// Bounds-checked walks over received netlink bytes: messages in a datagram
// and attributes in a payload. Pure, so they can be fuzzed.
//
// Why not libmnl: mnl_nlmsg_ok (1.0.4) casts nlmsg_len to int, so a length
// of 2^31 or more passes it and mnl_nlmsg_next then loops in place or jumps
// out of the buffer; its attribute walk reads up to the *aligned* message
// end. Lengths here are compared unsigned, as NLMSG_OK does, against the
// exact byte counts.

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ferry::agent {

// Iterates over the messages of one datagram:
//   NetlinkMessageWalker walk(buf, n);
//   while (const nlmsghdr* nlh = walk.Next()) { ... }
//   if (!walk.status().ok()) ...
// Every message returned lies wholly inside the buffer (nlmsg_len bytes).
class NetlinkMessageWalker {
 public:
  NetlinkMessageWalker(const void* data, size_t size)
      : data_(static_cast<const char*>(data)), size_(size) {}

  // The next message; nullptr at the end of the datagram or at a malformed
  // header (a length below the header size or past the end, or a truncated
  // header), after which status() says why and Next() stays nullptr.
  const nlmsghdr* Next();

  // OK unless the walk stopped at malformed bytes: INTERNAL naming the
  // offset and the bad length.
  const absl::Status& status() const { return status_; }

 private:
  const char* data_;
  size_t size_;
  size_t offset_ = 0;
  absl::Status status_;
};

// The payload of `nlh` (after the netlink header, up to nlmsg_len), or
// nullptr when it is shorter than `min_len`. `nlh` must come from a walker.
const void* MessagePayload(const nlmsghdr* nlh, size_t min_len);
// Bytes of `nlh` after the header and `header_len` bytes of family header;
// empty when the message is shorter.
absl::string_view MessageAttributes(const nlmsghdr* nlh, size_t header_len);

// Iterates over the attributes in `bytes` (a message's attribute area or a
// nested attribute's payload), as NLA_OK/nla_next do. Up to three trailing
// bytes are ignored, as the kernel's nla_parse does.
class AttributeWalker {
 public:
  explicit AttributeWalker(absl::string_view bytes) : bytes_(bytes) {}

  // The next attribute, wholly inside `bytes`; nullptr at the end or at a
  // malformed one (then malformed() is true).
  const nlattr* Next();
  bool malformed() const { return malformed_; }

 private:
  absl::string_view bytes_;
  size_t offset_ = 0;
  bool malformed_ = false;
};

// Type without the NLA_F_NESTED / NLA_F_NET_BYTEORDER flags.
inline uint16_t AttributeType(const nlattr* attr) { return attr->nla_type & NLA_TYPE_MASK; }
// The attribute's value (nla_len - NLA_HDRLEN bytes).
inline absl::string_view AttributePayload(const nlattr* attr) {
  return absl::string_view(reinterpret_cast<const char*>(attr) + NLA_HDRLEN,
                           attr->nla_len - NLA_HDRLEN);
}

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_NETLINK_WALK_H_
