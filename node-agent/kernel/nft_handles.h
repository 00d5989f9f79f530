#ifndef FERRY_NODE_AGENT_KERNEL_NFT_HANDLES_H_
#define FERRY_NODE_AGENT_KERNEL_NFT_HANDLES_H_

// Owning handles for libnftnl objects, so no early return leaks one.

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include <memory>

namespace ferry::agent::nft {

template <typename T, auto Free>
struct NftnlDeleter {
  void operator()(T* p) const { Free(p); }
};

using TablePtr = std::unique_ptr<nftnl_table, NftnlDeleter<nftnl_table, nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, NftnlDeleter<nftnl_chain, nftnl_chain_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, NftnlDeleter<nftnl_rule, nftnl_rule_free>>;
using ExprPtr = std::unique_ptr<nftnl_expr, NftnlDeleter<nftnl_expr, nftnl_expr_free>>;
using SetPtr = std::unique_ptr<nftnl_set, NftnlDeleter<nftnl_set, nftnl_set_free>>;
using SetElemPtr =
    std::unique_ptr<nftnl_set_elem, NftnlDeleter<nftnl_set_elem, nftnl_set_elem_free>>;

inline void FreeUdataBuf(nftnl_udata_buf* b) { nftnl_udata_buf_free(b); }
using UdataBufPtr = std::unique_ptr<nftnl_udata_buf, NftnlDeleter<nftnl_udata_buf, FreeUdataBuf>>;

}  // namespace ferry::agent::nft

#endif  // FERRY_NODE_AGENT_KERNEL_NFT_HANDLES_H_
