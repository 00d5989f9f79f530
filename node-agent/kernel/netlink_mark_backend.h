#ifndef FERRY_NODE_AGENT_KERNEL_NETLINK_MARK_BACKEND_H_
#define FERRY_NODE_AGENT_KERNEL_NETLINK_MARK_BACKEND_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "node-agent/kernel/mark_backend.h"
#include "node-agent/kernel/netlink_socket.h"

namespace ferry::agent {

// MarkBackend over nf_tables netlink (libnftnl + libmnl), in-process. The
// socket lives in the network namespace of the thread that called Create.
// Keeps no copy of the kernel's state: every Apply rebuilds the table from
// its argument alone. Not thread-safe: one reconcile thread.
class NetlinkMarkBackend : public MarkBackend {
 public:
  static absl::StatusOr<std::unique_ptr<NetlinkMarkBackend>> Create();

  absl::StatusOr<MarkState> Load() override;
  absl::Status Apply(const std::map<std::string, uint32_t>& marks) override;

 private:
  explicit NetlinkMarkBackend(std::unique_ptr<NetlinkSocket> sock) : sock_(std::move(sock)) {}
  absl::StatusOr<MarkState> LoadOnce();

  std::unique_ptr<NetlinkSocket> sock_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_NETLINK_MARK_BACKEND_H_
