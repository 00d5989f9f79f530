#ifndef FERRY_NODE_AGENT_KERNEL_NFT_RETURN_MARKS_H_
#define FERRY_NODE_AGENT_KERNEL_NFT_RETURN_MARKS_H_

// Pure builders and parsers of nf_tables netlink messages for table
// `inet ferry_return` (see mark_backend.h for what it does). No sockets
// here. Expression sequences, type ids and userdata are those
// `nft --debug=netlink,mnl -f` (nftables 1.0.6) emits for
//   table inet ferry_return {
//     map marks { type ifname : mark }
//     chain mark_in { type filter hook prerouting priority mangle; policy accept;
//       ct state new ct mark 0 ct mark set iifname map @marks }
//     chain mark_out { type route hook output priority mangle; policy accept;
//       meta mark 0 ct mark and 0xff000000 != 0 meta mark set ct mark and 0xff000000 }
//   }
// so `nft list` prints them readably.

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node-agent/kernel/netlink_batch.h"
#include "node-agent/kernel/nft_structure.h"

namespace ferry::agent::nft {

using ::ferry::agent::kReturnTableName;
inline constexpr char kMarksMapName[] = "marks";
// The rules' comments, by which drift checks know them (nft_structure.h).
inline constexpr char kMarkInTag[] = "ferry:mark_in";
inline constexpr char kMarkOutTag[] = "ferry:mark_out";
// IFNAMSIZ: an ifname key is the name NUL-padded to 16 bytes.
inline constexpr size_t kIfnameKeyLength = 16;

// OK when every element is one Ferry can write: interface names of 1..15
// bytes without a NUL, marks nonzero and within kReturnMarkMask but not
// kProbeMark, at most kMaxReturnMarks elements. Otherwise InvalidArgument
// naming the element.
absl::Status ValidateReturnMarks(const std::map<std::string, uint32_t>& marks);

// The batch (BATCH_BEGIN ... BATCH_END, every message asking for an ACK)
// that makes the table hold exactly `marks`:
//  - nonempty: NEWTABLE, DELTABLE, NEWTABLE (an atomic rebuild: no packet
//    ever sees a half-built table), NEWSET marks, NEWCHAIN mark_in and
//    mark_out, one NEWRULE each (commented with its tag), NEWSETELEM;
//  - empty: BuildDeleteMarkTableBatch's.
// Bad input is ValidateReturnMarks's error.
absl::StatusOr<NetlinkBatch> BuildMarkTableBatch(const std::map<std::string, uint32_t>& marks,
                                                 uint32_t first_seq);

// NEWTABLE then DELTABLE in one batch: removes the table, and succeeds
// whether or not it was there.
NetlinkBatch BuildDeleteMarkTableBatch(uint32_t first_seq);

// GETTABLE inet ferry_return (replies ENOENT when absent).
NetlinkBatch BuildGetMarkTable(uint32_t seq);
// GETSETELEM dump of map marks. The chain, rule and set dumps are
// nft_structure.h's, given kReturnTableName.
NetlinkBatch BuildGetMarkElements(uint32_t seq);

// Adds the elements of one NEWSETELEM dump reply of map marks to `marks`,
// all or nothing. Malformed bytes are INTERNAL; an element the map's types
// could not hold (a key other than 16 bytes, a value other than 4) is
// FAILED_PRECONDITION. Elements Ferry would not write (a zero mark, bits
// outside its mask) are returned as found, to show up as a difference.
absl::Status ParseMarkElements(const nlmsghdr* nlh, std::map<std::string, uint32_t>* marks);

// Table ferry_return's chains, rules and map as BuildMarkTableBatch creates
// them (parsed from its own messages), for CompareShape and SetReadable.
const TableShape& ExpectedMarkShape();

// "\"wg-b1\" : 0x01000000", nft's notation of one element.
std::string DescribeMark(const std::string& interface, uint32_t mark);

}  // namespace ferry::agent::nft

#endif  // FERRY_NODE_AGENT_KERNEL_NFT_RETURN_MARKS_H_
