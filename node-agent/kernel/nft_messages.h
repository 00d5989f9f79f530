#ifndef FERRY_NODE_AGENT_KERNEL_NFT_MESSAGES_H_
#define FERRY_NODE_AGENT_KERNEL_NFT_MESSAGES_H_

// Pure builders and parsers of nf_tables netlink messages for table
// `inet ferry`. No sockets here: unit tests parse the bytes back with
// libnftnl. Expression sequences, set type ids and userdata are those
// `nft --debug=netlink,mnl -f` (nftables 1.0.6) emits for the ruleset
// documented in nat_backend.h, so `nft list` prints readable types.

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node-agent/kernel/netlink_batch.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent::nft {

inline constexpr char kTableName[] = "ferry";
inline constexpr char kTableComment[] = "managed by ferry-agent; do not edit";
inline constexpr char kDnat4Comment[] = "client-facing addr . proto . port : backend addr . port";
// nft's own limit for comments (NFTNL_UDATA_COMMENT_MAXLEN).
inline constexpr size_t kMaxCommentLength = 128;
// Elements per NEWSETELEM message. The element list is one netlink
// attribute whose length is 16 bits, so messages are also capped in bytes.
inline constexpr size_t kMaxElementsPerMessage = 1000;
inline constexpr size_t kMaxElementBytesPerMessage = 48 * 1024;

enum class NatSet : uint8_t { kDnat4, kDnat6, kMasq4, kMasq6 };
inline constexpr NatSet kAllSets[] = {NatSet::kDnat4, NatSet::kDnat6, NatSet::kMasq4,
                                      NatSet::kMasq6};
// "dnat4", "dnat6", "masq4", "masq6".
const char* SetName(NatSet set);
// "map dnat4" / "set masq4", for messages.
std::string SetNoun(NatSet set);
// "ferry:dnat4": the comment of the one rule that uses `set`.
std::string RuleTag(NatSet set);
// The output chain's rules (the data-path probe, see nat_backend.h):
// "ferry:probe4" / "ferry:probe6" DNAT the probe's packets through map
// dnat4 / dnat6; "ferry:probe-drop" drops a probe packet no element
// matched, so a probe never reaches a local service on the frontend
// address.
std::string ProbeRuleTag(bool v4);
inline constexpr char kProbeDropTag[] = "ferry:probe-drop";

// "192.0.2.1 . tcp . 80", nft's notation.
std::string DescribeKey(const IpAddress& addr, uint8_t proto, uint16_t port);

// The whole transaction as one nfnetlink batch (BATCH_BEGIN ... BATCH_END),
// every message asking for an ACK:
//  - create_table: NEWTABLE, DELTABLE, NEWTABLE (an atomic rebuild, so a
//    half-present table never survives), 4 NEWSET, 3 NEWCHAIN (prerouting,
//    postrouting, output), 7 NEWRULE (each commented with its tag: 2 in
//    prerouting, 2 in postrouting, then the 3 probe rules in output);
//    element deletes are then moot and skipped;
//  - element deletes (DELSETELEM), then adds (NEWSETELEM), chunked.
// A key both deleted and added is replaced within the transaction; an add
// of a key the kernel holds with another target fails with EEXIST (see
// WithReplaceDeletes in netlink_nat_backend.h, which adds those deletes).
// Bad input (family mismatch, long comment) is InvalidArgument naming the
// element.
absl::StatusOr<NetlinkBatch> BuildNatBatch(const NatPlan& plan, uint32_t first_seq);

// GETTABLE inet ferry (replies ENOENT when absent).
NetlinkBatch BuildGetTable(uint32_t seq);
// GETSETELEM dump of one set/map.
NetlinkBatch BuildGetSetElements(NatSet set, uint32_t seq);

// Adds the elements of one NEWSETELEM dump reply to `state` (dnat or masq
// by set name). Elements Ferry could not have written are an error.
absl::Status ParseSetElements(const nlmsghdr* nlh, NatState* state);

}  // namespace ferry::agent::nft

#endif  // FERRY_NODE_AGENT_KERNEL_NFT_MESSAGES_H_
