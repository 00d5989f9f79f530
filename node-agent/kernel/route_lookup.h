#ifndef FERRY_NODE_AGENT_KERNEL_ROUTE_LOOKUP_H_
#define FERRY_NODE_AGENT_KERNEL_ROUTE_LOOKUP_H_

// Where this node's own route to an address leaves from: what `ip route get
// ADDRESS` shows as `src` and `dev`. A frontend that keeps the client's
// source address reports it for each backend, because that source is the
// hop on the backend's side that replies must go back to (often the
// frontend's end of a WireGuard tunnel), and only the frontend's routing
// table knows it.

#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "api/lib/ip_address.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/kernel/netlink_batch.h"
#include "node-agent/kernel/netlink_socket.h"

namespace ferry::agent {

class RouteLookup {
 public:
  virtual ~RouteLookup() = default;
  // The route the kernel would send a packet to `destination` by, as
  // {destination, its preferred source, its output interface}; the
  // destination in IpAddress::ToString's form. An error when there is
  // none (the kernel's errno, e.g. "Network is unreachable"), or when it
  // is no unicast or local route or has no source address.
  virtual absl::StatusOr<ferry::v1::RouteSource> Get(const IpAddress& destination) = 0;
};

// The fields of the kernel's answer to a route lookup that a RouteSource
// is made of.
struct RouteLookupReply {
  IpAddress source;
  int interface_index = 0;
};

// One RTM_GETROUTE for `destination` (RTA_DST, full-length prefix), not a
// dump, ACKed so that NetlinkSocket::Request knows when it is answered.
NetlinkBatch BuildRouteLookup(const IpAddress& destination, uint32_t seq);

// The RTM_NEWROUTE the kernel answers a lookup of `destination` with:
// RTA_PREFSRC and RTA_OIF, bounds-checked. FAILED_PRECONDITION when the
// route is not unicast or local (a broadcast or multicast address), or has
// no source or output interface; INTERNAL for another message or
// malformed bytes. `len` is how many bytes the buffer holds at `nlh`.
absl::StatusOr<RouteLookupReply> ParseRouteLookupReply(const nlmsghdr* nlh, size_t len,
                                                       const IpAddress& destination);

// The interface name a RouteSource reports for `index`: `name` (what the
// kernel calls it now) if it is a printable interface name, else
// "if<index>" (the interface went away since the lookup, or a name that
// is no valid proto string).
std::string RouteInterfaceName(int index, const std::string& name);

// Route lookups over rtnetlink in the network namespace of the thread that
// opened it. Thread-safe: lookups take turns on one socket.
class NetlinkRouteLookup : public RouteLookup {
 public:
  using InterfaceNames = std::function<std::string(int index)>;

  // `interface_names` maps an interface index to its name ("" when
  // unknown); by default if_indextoname, in the calling thread's namespace.
  static absl::StatusOr<std::unique_ptr<NetlinkRouteLookup>> Open(
      InterfaceNames interface_names = nullptr);

  absl::StatusOr<ferry::v1::RouteSource> Get(const IpAddress& destination) override;

 private:
  NetlinkRouteLookup(std::unique_ptr<NetlinkSocket> socket, InterfaceNames interface_names);

  const InterfaceNames interface_names_;
  absl::Mutex mu_;
  std::unique_ptr<NetlinkSocket> socket_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_ROUTE_LOOKUP_H_
