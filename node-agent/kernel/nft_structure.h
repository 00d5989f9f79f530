#ifndef FERRY_NODE_AGENT_KERNEL_NFT_STRUCTURE_H_
#define FERRY_NODE_AGENT_KERNEL_NFT_STRUCTURE_H_

// The fixed part of an nftables table Ferry owns (chains, rules, sets and
// maps): dump requests, bounds-checked parsers of the replies and the
// comparison with what Ferry creates. Written for `inet ferry` (what
// BuildNatBatch creates, the defaults below); `inet ferry_return` passes its
// own name and expected shape (nft_return_marks.h). Pure, so it is
// unit-tested and fuzzed.
//
// Rules are identified by their comment (nft::RuleTag, e.g. "ferry:dnat4")
// and compared by their expression kinds and the set they look up, not by
// every expression attribute: the kernel echoes attributes in its own order
// and with defaults filled in, so byte equality with what Ferry sent would
// report drift on every check.

#include <linux/netlink.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "node-agent/kernel/netlink_batch.h"
#include "node-agent/kernel/nft_messages.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent::nft {

struct ChainShape {
  std::string name;
  std::string type;              // "nat", "filter", ...; "" for a regular chain
  std::optional<uint32_t> hook;  // base chains only
  std::optional<int32_t> priority;
  std::optional<uint32_t> policy;
  bool operator==(const ChainShape&) const = default;
};

struct RuleShape {
  std::string chain;
  uint64_t handle = 0;      // 0 in Ferry's own (not yet committed) rules
  std::string tag;          // the rule's comment; "" when it has none
  std::string expressions;  // "meta cmp payload ... lookup @dnat4 nat"
};

struct SetShape {
  std::string name;
  uint32_t flags = 0;
  uint32_t key_type = 0;
  uint32_t key_len = 0;
  uint32_t data_type = 0;  // maps only
  uint32_t data_len = 0;
  bool operator==(const SetShape&) const = default;
};

// What the dumps found in table inet `table`, rules in chain order.
struct TableShape {
  std::vector<ChainShape> chains;
  std::vector<RuleShape> rules;
  std::vector<SetShape> sets;
  // The table whose objects the parsers keep (the dumps of chains hold
  // every table's). Set it before parsing into the shape.
  std::string table = kTableName;
};

// NLM_F_DUMP requests for the chains, rules and sets of family inet; the
// rule and set dumps are filtered to `table` by the kernel, the chain dump
// by the parser.
NetlinkBatch BuildGetChains(uint32_t seq);
NetlinkBatch BuildGetRules(uint32_t seq, absl::string_view table = kTableName);
NetlinkBatch BuildGetSets(uint32_t seq, absl::string_view table = kTableName);

// Add one NEWCHAIN / NEWRULE / NEWSET message of table `shape->table` to
// `shape`; objects of other tables and anonymous sets (those of an inline
// `{ }` in a rule) are skipped. Malformed bytes are INTERNAL, `shape`
// unchanged.
absl::Status ParseChain(const nlmsghdr* nlh, TableShape* shape);
absl::Status ParseRule(const nlmsghdr* nlh, TableShape* shape);
absl::Status ParseSet(const nlmsghdr* nlh, TableShape* shape);

// The shape of table `table` as the NEWCHAIN, NEWRULE and NEWSET messages
// of `batch` (Ferry's own) create it.
TableShape ShapeOfBatch(const NetlinkBatch& batch, absl::string_view table);

// Table ferry as BuildNatBatch creates it (parsed from its own messages).
const TableShape& ExpectedShape();

// Every difference between `found` and `want` (by default ExpectedShape()),
// objects named as "chain prerouting", "rule ferry:dnat4 in chain
// prerouting", "rule handle 7 in chain prerouting" (an untagged rule) or
// "map dnat4".
std::vector<StructureDrift> CompareShape(const TableShape& found, const TableShape& want);
std::vector<StructureDrift> CompareShape(const TableShape& found);

// Whether the elements of `set_name` can be read as Ferry's: the set is
// there with the key and data types `want` (by default ExpectedShape())
// gives it.
bool SetReadable(const TableShape& found, const TableShape& want, const std::string& set_name);
bool SetReadable(const TableShape& found, const std::string& set_name);

}  // namespace ferry::agent::nft

#endif  // FERRY_NODE_AGENT_KERNEL_NFT_STRUCTURE_H_
