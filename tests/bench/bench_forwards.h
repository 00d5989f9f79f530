#ifndef FERRY_TESTS_BENCH_BENCH_FORWARDS_H_
#define FERRY_TESTS_BENCH_BENCH_FORWARDS_H_

// Synthetic forwards, and the same forwards as the input of the reference
// tools (`nft -f`, `iptables-restore`), so both sides program equal state.

#include <string>

#include "absl/status/status.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::bench {

// Forward i: a TCP port on one of many frontend addresses in 10.64.0.0/10,
// to a backend in 10.128.0.0/10 port 8080, source preserved (no masquerade).
// Distinct i give distinct map keys, none in the data path's subnets.
ferry::v1::DnatRule SyntheticForward(int i);

// `n` synthetic forwards, version "v<version>".
ferry::v1::NodeConfig SyntheticConfig(int n, int version = 1);

// Returns the `nft -f` text that builds table inet ferry exactly as
// NetlinkNatBackend does (same table, maps, sets, chains, rules, comments)
// holding `config`'s DNAT elements.
std::string NftRuleset(const ferry::v1::NodeConfig& config);

// "<key> comment "<c>" : <target>", one map element in nft notation.
std::string NftElement(const ferry::v1::DnatRule& rule);
std::string NftKey(const ferry::v1::DnatRule& rule);

// `iptables-restore` text: one nat PREROUTING DNAT rule per forward, in
// config order.
std::string IptablesRestore(const ferry::v1::NodeConfig& config);

// Writes `text` to `path`.
absl::Status WriteFile(const std::string& path, const std::string& text);

}  // namespace ferry::bench

#endif  // FERRY_TESTS_BENCH_BENCH_FORWARDS_H_
