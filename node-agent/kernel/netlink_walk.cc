#include "node-agent/kernel/netlink_walk.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ferry::agent {

const nlmsghdr* NetlinkMessageWalker::Next() {
  if (!status_.ok() || offset_ >= size_) return nullptr;
  const size_t left = size_ - offset_;
  if (left < sizeof(nlmsghdr)) {
    status_ = absl::InternalError(absl::StrCat("malformed netlink datagram: ", left,
                                               " trailing bytes at offset ", offset_,
                                               " are shorter than a message header"));
    return nullptr;
  }
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(data_ + offset_);
  // Unsigned throughout: nlmsg_len is a u32 and may be anything.
  const uint32_t len = nlh->nlmsg_len;
  if (len < sizeof(nlmsghdr) || len > left) {
    status_ = absl::InternalError(absl::StrCat("malformed netlink datagram: message at offset ",
                                               offset_, " claims ", len, " bytes, but ", left,
                                               " remain (minimum ", sizeof(nlmsghdr), ")"));
    return nullptr;
  }
  // The last message may omit its alignment padding.
  offset_ += std::min<size_t>(NLMSG_ALIGN(static_cast<size_t>(len)), left);
  return nlh;
}

const void* MessagePayload(const nlmsghdr* nlh, size_t min_len) {
  if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len - NLMSG_HDRLEN < min_len) {
    return nullptr;
  }
  return reinterpret_cast<const char*>(nlh) + NLMSG_HDRLEN;
}

absl::string_view MessageAttributes(const nlmsghdr* nlh, size_t header_len) {
  const size_t start = NLMSG_HDRLEN + NLMSG_ALIGN(header_len);
  if (nlh->nlmsg_len < start) return absl::string_view();
  return absl::string_view(reinterpret_cast<const char*>(nlh) + start, nlh->nlmsg_len - start);
}

const nlattr* AttributeWalker::Next() {
  if (malformed_ || bytes_.size() - offset_ < NLA_HDRLEN) return nullptr;
  const size_t left = bytes_.size() - offset_;
  const auto* attr = reinterpret_cast<const nlattr*>(bytes_.data() + offset_);
  if (attr->nla_len < NLA_HDRLEN || attr->nla_len > left) {
    malformed_ = true;
    return nullptr;
  }
  offset_ += std::min<size_t>(NLA_ALIGN(static_cast<size_t>(attr->nla_len)), left);
  return attr;
}

}  // namespace ferry::agent
