#ifndef FERRY_NODE_AGENT_MONITOR_ADDRESS_MONITOR_H_
#define FERRY_NODE_AGENT_MONITOR_ADDRESS_MONITOR_H_

// Watches the node's IP addresses over rtnetlink (the kernel layer's
// NetlinkSocket) and reports the list when it changes, so the controller
// can check frontend addresses and resolve return hops, and the agent's
// ConfigGuard knows which addresses are its own. Events only trigger a
// re-dump: the dump is the truth.

#include <linux/netlink.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/lib/ip_address.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/kernel/netlink_socket.h"

namespace ferry::agent {

// Loopback (127/8, ::1) and IPv6 link-local (fe80::/10) addresses are never
// reachable from another node, so they are not reported.
bool IsReportableAddress(const IpAddress& address);

// The reportable address announced by one RTM_NEWADDR message, or nullopt
// for any other message, an unreportable address, or malformed bytes.
// `len` is how many bytes the buffer holds at `nlh`; nothing beyond
// min(len, nlmsg_len) is read. `ifname` maps an interface index to its
// name ("" when unknown, then IFA_LABEL or "if<index>" is used). Pure, so
// it can be fuzzed.
std::optional<ferry::v1::NodeAddress> ParseAddressMessage(
    const nlmsghdr* nlh, size_t len, const std::function<std::string(int)>& ifname);

// All reportable addresses, sorted by interface then address.
absl::StatusOr<std::vector<ferry::v1::NodeAddress>> DumpNodeAddresses();

class AddressMonitor {
 public:
  using Callback = std::function<void(const std::vector<ferry::v1::NodeAddress>&)>;

  // `quiet` coalesces bursts: the re-dump waits until no event arrived for
  // that long (an interface coming up sends several).
  explicit AddressMonitor(Callback on_change, absl::Duration quiet = absl::Milliseconds(50));
  ~AddressMonitor();

  AddressMonitor(const AddressMonitor&) = delete;
  AddressMonitor& operator=(const AddressMonitor&) = delete;

  // Subscribes, dumps once (the result is current(); the callback is not
  // called for it) and starts the watching thread.
  absl::Status Start();
  // Idempotent; joins the thread.
  void Stop();

  std::vector<ferry::v1::NodeAddress> current() const;

 private:
  void Run();

  const Callback on_change_;
  const absl::Duration quiet_;
  int event_fd_ = -1;                      // stop signal for poll()
  std::unique_ptr<NetlinkSocket> events_;  // joined to the address groups
  std::thread thread_;

  mutable absl::Mutex mu_;
  std::vector<ferry::v1::NodeAddress> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_MONITOR_ADDRESS_MONITOR_H_
