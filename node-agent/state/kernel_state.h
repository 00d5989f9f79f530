#ifndef FERRY_NODE_AGENT_STATE_KERNEL_STATE_H_
#define FERRY_NODE_AGENT_STATE_KERNEL_STATE_H_

// Ferry's own value types for what the agent owns in the kernel. The
// reconciler computes and diffs these; only kernel/ turns them into netlink.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/lib/ip_address.h"

namespace ferry::agent {

inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;

// Key of one DNAT map element: daddr . l4proto . dport (one per port).
struct DnatKey {
  IpAddress daddr;
  uint8_t proto = kProtoTcp;
  uint16_t port = 0;
  auto operator<=>(const DnatKey&) const = default;
};

struct DnatTarget {
  IpAddress addr;
  uint16_t port = 0;
  std::string comment;  // "ipforward/<name>", shown by `nft list`
  auto operator<=>(const DnatTarget&) const = default;
};

// Post-DNAT tuple (backend daddr . l4proto . dport) to masquerade.
struct MasqKey {
  IpAddress daddr;
  uint8_t proto = kProtoTcp;
  uint16_t port = 0;
  auto operator<=>(const MasqKey&) const = default;
};

// One way the table's chains, rules or sets differ from what Ferry creates,
// rendered like `nft list`: e.g. {"chain prerouting", "type nat hook
// prerouting priority -100 policy accept", ""} for a deleted chain.
struct StructureDrift {
  std::string object;    // "chain prerouting", "rule ferry:dnat4 in chain prerouting", "set masq4"
  std::string expected;  // "" when the object should not exist
  std::string found;     // "" when the object is missing
  auto operator<=>(const StructureDrift&) const = default;
};

// Contents of table `inet ferry`. The chains and maps are fixed; only
// elements vary, so the state is the elements plus "does the table exist"
// plus how its fixed part differs from Ferry's (normally not at all).
struct NatState {
  bool table_present = false;
  std::map<DnatKey, DnatTarget> dnat;   // maps dnat4 / dnat6 by family
  std::map<MasqKey, std::string> masq;  // sets masq4 / masq6; value = comment
  // Empty: chains, rules and sets are exactly as Ferry creates them (always
  // so in a desired state). Elements of a set listed here are not read.
  std::vector<StructureDrift> structure_drift;
  bool operator==(const NatState&) const = default;
};

// One atomic transaction on table `inet ferry`.
struct NatPlan {
  // Table, chains, maps and rules, then elements: replaces any table there,
  // so the adds must hold every element the table is to have.
  bool create_table = false;
  std::vector<std::pair<DnatKey, DnatTarget>> dnat_add;  // add or replace
  std::vector<DnatKey> dnat_delete;
  std::vector<std::pair<MasqKey, std::string>> masq_add;
  std::vector<MasqKey> masq_delete;
  bool empty() const {
    return !create_table && dnat_add.empty() && dnat_delete.empty() && masq_add.empty() &&
           masq_delete.empty();
  }
};

// Ferry's bits of the conntrack and packet marks. A backend marks each new
// connection that arrives on a frontend's interface with that interface's
// mark, copies it to the replies, and routes them by it: so replies leave
// through the frontend that received the request, however many frontends
// share the backend's address and port. The top byte, because the low bits
// are kube-proxy's (0x4000, 0x8000) and Cilium's (0xf00, 0xf000), and
// 0x00ff0000 is Tailscale's.
inline constexpr uint32_t kReturnMarkMask = 0xff000000;
inline constexpr uint32_t kReturnMarkShift = 24;
// Index 255 is the data-path probe's (kProbeMark), so 254 return marks.
inline constexpr uint32_t kMaxReturnMarks = (kReturnMarkMask >> kReturnMarkShift) - 1;  // 254
// The mark of index 1..kMaxReturnMarks.
inline constexpr uint32_t ReturnMark(uint32_t index) { return index << kReturnMarkShift; }
// The packet mark of the agent's data-path probes (SO_MARK): table inet
// ferry's output chain DNATs exactly these packets through the forwards'
// maps, so a probe from the frontend takes the forward's own DNAT. No
// return rule matches it (their marks are 1..kMaxReturnMarks).
inline constexpr uint32_t kProbeMark = kReturnMarkMask;

// The nftables table of the return marks, and the longest interface name
// its map holds (IFNAMSIZ less its NUL).
inline constexpr char kReturnTableName[] = "ferry_return";
inline constexpr size_t kMaxInterfaceName = 15;

// Contents of table `inet ferry_return`: which interface's new connections
// get which mark (see kReturnMarkMask). Its chains and its one map are
// fixed; the elements vary.
struct MarkState {
  bool table_present = false;
  std::map<std::string, uint32_t> marks;  // interface -> mark
  // As NatState's: empty when chains, rules and map are as Ferry makes them.
  std::vector<StructureDrift> structure_drift;
  bool operator==(const MarkState&) const = default;
};

// A policy rule: "from src ipproto P sport lo-hi fwmark M/MASK lookup
// table" at priority (fwmask 0: no fwmark selector).
struct PolicyRule {
  IpAddress src;  // /32 or /128
  uint8_t proto = kProtoTcp;
  uint16_t sport_lo = 0;
  uint16_t sport_hi = 0;
  uint32_t table = 0;
  uint32_t priority = 0;
  uint32_t fwmark = 0;
  uint32_t fwmask = 0;
  auto operator<=>(const PolicyRule&) const = default;
};

// The default route of one Ferry routing table: "default via `via`".
struct TableRoute {
  uint32_t table = 0;
  IpAddress via;
  auto operator<=>(const TableRoute&) const = default;
};

// A backend's return paths: rules and routes tagged with Ferry's protocol
// value (see RouteBackend), and the marks the rules match (MarkState's map
// and how its table's fixed part differs, normally not at all).
struct RouteState {
  std::vector<PolicyRule> rules;   // sorted
  std::vector<TableRoute> routes;  // sorted, at most one per table
  std::map<std::string, uint32_t> marks;
  std::vector<StructureDrift> marks_drift;
  bool operator==(const RouteState&) const = default;
};

struct RoutePlan {
  std::vector<TableRoute> routes_add;  // NLM_F_REPLACE upserts
  std::vector<TableRoute> routes_delete;
  std::vector<PolicyRule> rules_add;
  std::vector<PolicyRule> rules_delete;
  // Set: table inet ferry_return is rebuilt to hold exactly these marks
  // (removed when empty), before any rule changes.
  std::optional<std::map<std::string, uint32_t>> marks;
  bool empty() const {
    return routes_add.empty() && routes_delete.empty() && rules_add.empty() &&
           rules_delete.empty() && !marks.has_value();
  }
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_STATE_KERNEL_STATE_H_
