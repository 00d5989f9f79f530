#ifndef FERRY_NODE_AGENT_KERNEL_ERRNO_STATUS_H_
#define FERRY_NODE_AGENT_KERNEL_ERRNO_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ferry::agent {

// What the kernel offers for IPv6 in the calling thread's network namespace.
enum class Ipv6Support {
  kAvailable,
  kDisabled,  // net.ipv6.conf.all.disable_ipv6=1
  kMissing,   // no /proc/sys/net/ipv6: booted with ipv6.disable=1, or not built
};

// Reads /proc/sys/net/ipv6/conf/all/disable_ipv6 (per network namespace).
Ipv6Support ProbeIpv6Support();

// A kernel errno as an absl::Status: api::ErrnoCode's code (the one errno
// table) with the hints only the kernel layer can give, and the overrides
// in errno_status.cc where a netlink errno means something else. `what` names
// the operation and object ("adding element 192.0.2.1 . tcp . 80 to map
// dnat4"); the message is "<what>: <strerror>[ (<hint>)]".
// `missing_feature` marks requests whose ENOENT/EOPNOTSUPP means "this
// kernel lacks a module" (creating chains, rules, sets) rather than
// "object not found"; those say "kernel lacks nftables feature ...".
// When the object is IPv6 (an IPv6 address or an ipv6 sysctl in `what`) and
// the namespace has no working IPv6, the failure is FAILED_PRECONDITION
// "kernel lacks IPv6 support: <why>; <what>: <strerror>", whatever errno the
// kernel chose to say it with (EACCES, EHOSTUNREACH, EAFNOSUPPORT, ENOENT).
absl::Status ErrnoToStatus(int err, absl::string_view what, bool missing_feature = false);

// As above with the IPv6 probe's answer given, for tests.
absl::Status ErrnoToStatus(int err, absl::string_view what, bool missing_feature, Ipv6Support ipv6);

// True if `what` names an IPv6 address or an IPv6 sysctl.
bool NamesIpv6Object(absl::string_view what);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_ERRNO_STATUS_H_
