#ifndef FERRY_NODE_AGENT_KERNEL_NFT_EXPRESSIONS_H_
#define FERRY_NODE_AGENT_KERNEL_NFT_EXPRESSIONS_H_

// Internal to the nft_* builders: one libnftnl expression per helper, with
// the attributes `nft --debug=netlink` (nftables 1.0.6) sets for it, so the
// tables Ferry writes list as readable rules. Each returns a new expression
// for nftnl_rule_add_expr (see Add), which takes ownership.

#include <cstdint>
#include <optional>

// libnftnl's (libnftnl/expr.h and rule.h use FILE without including stdio.h).
struct nftnl_expr;
struct nftnl_rule;

namespace ferry::agent::nft {

// Appends `e` to `r`, which then owns it.
void Add(nftnl_rule* r, nftnl_expr* e);

// meta load `key` => dreg.
nftnl_expr* Meta(uint32_t key, uint32_t dreg);
// meta set `key` with sreg.
nftnl_expr* MetaSet(uint32_t key, uint32_t sreg);
// ct load `key` => dreg.
nftnl_expr* Ct(uint32_t key, uint32_t dreg);
// ct set `key` with sreg.
nftnl_expr* CtSet(uint32_t key, uint32_t sreg);
// cmp `op` sreg `data` (`len` bytes, in the register's byte order).
nftnl_expr* Cmp(uint32_t sreg, uint32_t op, const void* data, uint32_t len);
// payload load `len` bytes at `offset` of header `base` => dreg.
nftnl_expr* Payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg);
// reg = (reg & mask) ^ 0 over 4 bytes: `mask` in host byte order, as nft
// sends it for the 32-bit ct and meta keys (status, state, mark).
nftnl_expr* BitwiseAnd(uint32_t reg, uint32_t mask);
// lookup reg 1 in `set` (`set_id` names a set of the same batch), with a
// map's value => dreg when given.
nftnl_expr* Lookup(const char* set, uint32_t set_id, std::optional<uint32_t> dreg);
// immediate verdict `code` (NF_DROP, NF_ACCEPT, ...): ends the rule's chain.
nftnl_expr* Verdict(uint32_t code);

}  // namespace ferry::agent::nft

#endif  // FERRY_NODE_AGENT_KERNEL_NFT_EXPRESSIONS_H_
