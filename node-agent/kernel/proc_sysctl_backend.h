#ifndef FERRY_NODE_AGENT_KERNEL_PROC_SYSCTL_BACKEND_H_
#define FERRY_NODE_AGENT_KERNEL_PROC_SYSCTL_BACKEND_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node-agent/kernel/route_backend.h"

namespace ferry::agent {

// SysctlBackend over /proc/sys/<key>. Network keys resolve in the network
// namespace of the calling thread. Keys are validated (no "..", only
// [a-z0-9_/.-]) so no path outside /proc/sys can be named.
class ProcSysctlBackend : public SysctlBackend {
 public:
  explicit ProcSysctlBackend(std::string root = "/proc/sys") : root_(std::move(root)) {}

  // The value without its trailing newline.
  absl::StatusOr<std::string> Read(const std::string& key) override;
  absl::Status Write(const std::string& key, const std::string& value) override;

 private:
  std::string root_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_PROC_SYSCTL_BACKEND_H_
