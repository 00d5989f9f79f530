#ifndef FERRY_NODE_AGENT_KERNEL_NFT_OBJECTS_H_
#define FERRY_NODE_AGENT_KERNEL_NFT_OBJECTS_H_

// Internal to the nft_* builders: the messages for the objects every Ferry
// table is made of (the table, its base chains and commented rules, and the
// transaction around them), for any table name, so table inet ferry and
// table inet ferry_return are built by the same code.

#include <cstdint>
#include <string>

#include "node-agent/kernel/netlink_batch.h"
#include "node-agent/kernel/nft_handles.h"

namespace ferry::agent::nft {

// Room for any one table/set/chain/rule message (the largest rule is
// under 500 bytes).
inline constexpr size_t kObjectMessageBytes = 4096;

// BATCH_BEGIN / BATCH_END of one nf_tables transaction (not ACKed).
void AppendBatchBegin(NetlinkBatch& batch);
void AppendBatchEnd(NetlinkBatch& batch);

// NEWTABLE (with nft_messages.h's kTableComment, never NFT_TABLE_F_OWNER: the table must
// outlive the agent), DELTABLE or GETTABLE of inet `table`.
void AppendTable(NetlinkBatch& batch, const char* table, uint16_t type, std::string what);

// A base chain of `type` ("nat", "filter", "route") on `hook`, policy accept.
void AppendChain(NetlinkBatch& batch, const char* table, const char* chain, const char* type,
                 uint32_t hook, int32_t priority);

// Appends `rule` to `chain`, commented `tag`: drift checks identify Ferry's
// rules by it (nft_structure.h) without decoding expressions.
void AppendRule(NetlinkBatch& batch, const char* table, const char* chain, const std::string& tag,
                RulePtr rule, std::string what);

}  // namespace ferry::agent::nft

#endif  // FERRY_NODE_AGENT_KERNEL_NFT_OBJECTS_H_
