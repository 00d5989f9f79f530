#ifndef FERRY_NODE_AGENT_KERNEL_NETLINK_NAT_BACKEND_H_
#define FERRY_NODE_AGENT_KERNEL_NETLINK_NAT_BACKEND_H_

#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "node-agent/kernel/nat_backend.h"
#include "node-agent/kernel/netlink_socket.h"
#include "node-agent/kernel/nft_structure.h"

namespace ferry::agent {

// The kernel cannot replace a set element in place (adding an existing key
// with another value is EEXIST, with another comment a silent no-op), so an
// add whose key `kernel` holds with a different value gets a delete of that
// key in front of it, in the same batch.
NatPlan WithReplaceDeletes(const NatPlan& plan, const NatState& kernel);

// NatBackend over nf_tables netlink (libnftnl + libmnl), in-process. The
// socket lives in the network namespace of the thread that called Create.
// It mirrors the elements it last loaded or applied to turn adds of
// existing keys into replaces. Not thread-safe: one reconcile thread.
class NetlinkNatBackend : public NatBackend {
 public:
  static absl::StatusOr<std::unique_ptr<NetlinkNatBackend>> Create();

  absl::StatusOr<NatState> Load() override;
  absl::Status Apply(const NatPlan& plan) override;

 private:
  explicit NetlinkNatBackend(std::unique_ptr<NetlinkSocket> sock) : sock_(std::move(sock)) {}
  absl::StatusOr<NatState> LoadOnce();
  // Adds the elements of every set `shape` shows readable to `state`.
  absl::Status DumpElements(const nft::TableShape& shape, NatState* state);
  void Remember(const NatPlan& plan);

  std::unique_ptr<NetlinkSocket> sock_;
  // What the kernel holds, as of the last Load or successful Apply; unset
  // after a failed Apply, so the next Apply reloads it.
  std::optional<NatState> kernel_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_NETLINK_NAT_BACKEND_H_
