#ifndef FERRY_NODE_AGENT_KERNEL_NFT_GENERATION_H_
#define FERRY_NODE_AGENT_KERNEL_NFT_GENERATION_H_

// The ruleset generation of nf_tables: every committed transaction
// advances it, so an unchanged generation means an unchanged ruleset (the
// drift monitor skips the element dump on it).

#include <linux/netlink.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "node-agent/kernel/netlink_batch.h"
#include "node-agent/kernel/netlink_socket.h"

namespace ferry::agent {

namespace nft {
// NFT_MSG_GETGEN, ACKed after its reply.
NetlinkBatch BuildGetGeneration(uint32_t seq);
// NFTA_GEN_ID of an NFT_MSG_NEWGEN message; nullopt for any other message
// or malformed bytes.
std::optional<uint32_t> ParseGeneration(const nlmsghdr* nlh);
}  // namespace nft

// Asks nf_tables for its current ruleset generation, on a socket of its own
// in the calling thread's network namespace.
class GenerationQuery {
 public:
  static absl::StatusOr<GenerationQuery> Open();

  absl::StatusOr<uint32_t> Current();

 private:
  explicit GenerationQuery(std::unique_ptr<NetlinkSocket> socket) : socket_(std::move(socket)) {}
  std::unique_ptr<NetlinkSocket> socket_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_NFT_GENERATION_H_
