#ifndef FERRY_NODE_AGENT_KERNEL_NFT_ELEMENTS_H_
#define FERRY_NODE_AGENT_KERNEL_NFT_ELEMENTS_H_

// Internal to nft_messages: element encoding in nft's concatenation
// layout (each field padded to 4 bytes, ports in network order).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node-agent/kernel/netlink_batch.h"
#include "node-agent/kernel/nft_messages.h"

namespace ferry::agent::nft {

// addr . inet_proto . inet_service: 12 (IPv4) or 24 (IPv6) bytes.
inline uint32_t KeyLength(bool v4) { return v4 ? 12 : 24; }
// addr . inet_service: 8 or 20 bytes.
inline uint32_t TargetLength(bool v4) { return v4 ? 8 : 20; }

struct ElementOp {
  std::array<uint8_t, 24> key{};
  std::array<uint8_t, 20> data{};
  uint8_t key_len = 0;
  uint8_t data_len = 0;                  // 0 for sets
  const std::string* comment = nullptr;  // points into the plan
  std::string label;                     // "192.0.2.1 . tcp . 80"
};

struct SetOps {
  NatSet set;
  std::vector<ElementOp> elems;
};

struct ElementOps {
  std::vector<SetOps> deletes;  // only non-empty sets
  std::vector<SetOps> adds;
};

// Validates and encodes the plan's elements, grouped by set.
absl::StatusOr<ElementOps> PlanElementOps(const NatPlan& plan);

// Appends NEWSETELEM (add) or DELSETELEM messages for `ops`, chunked, each
// element labelled for error reports. `set_id` != 0 names a set created in
// the same batch.
void AppendElementMessages(NetlinkBatch& batch, const SetOps& ops, bool add, uint32_t set_id);

}  // namespace ferry::agent::nft

#endif  // FERRY_NODE_AGENT_KERNEL_NFT_ELEMENTS_H_
