#include "node-agent/kernel/netlink_batch.h"

#include <algorithm>

namespace ferry::agent {

uint32_t NetlinkBatch::Append(size_t max_len,
                              absl::FunctionRef<nlmsghdr*(char* buf, uint32_t seq)> build,
                              std::string what, bool ack) {
  const uint32_t seq = next_seq();
  const size_t start = buf_.size();
  buf_.resize(start + NLMSG_ALIGN(max_len), 0);
  nlmsghdr* nlh = build(buf_.data() + start, seq);
  buf_.resize(start + NLMSG_ALIGN(nlh->nlmsg_len));
  messages_.push_back(Message{start, std::move(what), {}, false});
  if (ack) ++acks_expected_;
  return seq;
}

void NetlinkBatch::LabelAttribute(uint32_t offset, std::string what) {
  messages_.back().labels.push_back(Label{offset, std::move(what)});
}

bool NetlinkBatch::Contains(uint32_t seq) const {
  return seq >= first_seq_ && seq - first_seq_ < messages_.size();
}

std::string NetlinkBatch::Describe(uint32_t seq, std::optional<uint32_t> attr_offset) const {
  if (!Contains(seq)) return "unknown netlink message";
  const Message& m = messages_[seq - first_seq_];
  if (attr_offset.has_value() && !m.labels.empty()) {
    // The kernel points at the failing element's nest or at an attribute
    // inside it: take the last label starting at or before the offset.
    auto it = std::upper_bound(m.labels.begin(), m.labels.end(), *attr_offset,
                               [](uint32_t off, const Label& l) { return off < l.offset; });
    if (it != m.labels.begin()) return std::prev(it)->what;
  }
  return m.what;
}

const nlmsghdr* NetlinkBatch::message(size_t i) const {
  return reinterpret_cast<const nlmsghdr*>(buf_.data() + messages_[i].start);
}

}  // namespace ferry::agent
