#ifndef FERRY_NODE_AGENT_KERNEL_NETLINK_BATCH_H_
#define FERRY_NODE_AGENT_KERNEL_NETLINK_BATCH_H_

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace ferry::agent {

// A growable buffer of consecutive netlink messages with consecutive
// sequence numbers, plus what each message (and each element inside it)
// does, so an error ACK can be reported by the object that caused it.
// Unlike libmnl's mnl_nlmsg_batch it never runs out of room.
class NetlinkBatch {
 public:
  explicit NetlinkBatch(uint32_t first_seq) : first_seq_(first_seq) {}

  // Writes one message: `build(buf, seq)` gets `max_len` zeroed bytes and
  // returns the header it wrote there. `what` describes the message
  // ("adding table inet ferry"); `ack` says whether it asked for an ACK.
  // Returns the sequence number used.
  uint32_t Append(size_t max_len, absl::FunctionRef<nlmsghdr*(char* buf, uint32_t seq)> build,
                  std::string what, bool ack = true);

  // Labels an attribute of the last message (at `offset` from its header),
  // e.g. one set element, for errors the kernel pins to that attribute.
  void LabelAttribute(uint32_t offset, std::string what);

  // Marks the last message as one whose ENOENT/EOPNOTSUPP means a missing
  // kernel feature (a chain type, an expression) rather than a missing object.
  void MarkNeedsKernelFeature() { messages_.back().needs_feature = true; }
  bool NeedsKernelFeature(uint32_t seq) const {
    return Contains(seq) && messages_[seq - first_seq_].needs_feature;
  }

  const char* data() const { return buf_.data(); }
  size_t size() const { return buf_.size(); }
  uint32_t first_seq() const { return first_seq_; }
  uint32_t next_seq() const { return first_seq_ + messages_.size(); }
  size_t message_count() const { return messages_.size(); }
  size_t acks_expected() const { return acks_expected_; }

  // Whether `seq` belongs to this batch.
  bool Contains(uint32_t seq) const;
  // What the message `seq` does; with the kernel's extended-ACK attribute
  // offset, the labelled attribute at that offset if there is one.
  std::string Describe(uint32_t seq, std::optional<uint32_t> attr_offset = std::nullopt) const;

  // Header of the i-th message (for tests and parsers).
  const nlmsghdr* message(size_t i) const;

 private:
  struct Label {
    uint32_t offset;
    std::string what;
  };
  struct Message {
    size_t start;
    std::string what;
    std::vector<Label> labels;  // ascending offsets
    bool needs_feature = false;
  };

  uint32_t first_seq_;
  std::vector<char> buf_;
  std::vector<Message> messages_;
  size_t acks_expected_ = 0;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_NETLINK_BATCH_H_
