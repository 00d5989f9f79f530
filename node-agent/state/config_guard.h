#ifndef FERRY_NODE_AGENT_STATE_CONFIG_GUARD_H_
#define FERRY_NODE_AGENT_STATE_CONFIG_GUARD_H_

// The agent's own check of every push before anything touches the kernel.
// The controller validates and admits forwards, but the agent does not
// take its word for the few things that would let a buggy, compromised or
// impostor controller turn this node against others:
//  - a DNAT frontend (or a return route's source) must be one of this
//    node's own addresses, or the node would capture traffic meant for
//    someone else (the agent-side half of CVE-2020-8554's lesson);
//  - port arithmetic must stay within 1..65535 when done in 64 bits;
//  - the number of entries (dnat plus return routes) is capped, so a push
//    cannot make the agent exhaust memory expanding it.
// A refused push is NACKed with the reason and changes nothing.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "api/lib/ip_address.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::agent {

class ConfigGuard {
 public:
  // This node's current addresses (the AddressMonitor's view), asked once
  // per push.
  using LocalAddresses = std::function<std::vector<IpAddress>()>;

  ConfigGuard(uint64_t max_entries, LocalAddresses local_addresses);

  ConfigGuard(const ConfigGuard&) = delete;
  ConfigGuard& operator=(const ConfigGuard&) = delete;

  // INVALID_ARGUMENT naming the forward and field, e.g.
  // `forward "web": dnat[0].frontend_address: 192.0.2.9 is not an address
  // of this node (it has 10.0.0.1)`, or RESOURCE_EXHAUSTED for too many
  // entries. Entries are checked with the same expansion the reconciler
  // uses (ExpandDnat / ExpandReturn), so every other malformed field is
  // refused here too, with the reconciler's message.
  absl::Status Check(const ferry::v1::NodeConfig& config) const;
  // A delta's entry count is the total the node would hold after it: the
  // entries of the forwards it does not name (as of the last Applied)
  // plus its own.
  absl::Status Check(const ferry::v1::NodeConfigDelta& delta) const;

  // Records a push that was applied, so later deltas are counted against
  // what the kernel holds.
  void Applied(const ferry::v1::NodeConfig& config);
  void Applied(const ferry::v1::NodeConfigDelta& delta);

  uint64_t held_entries() const;

 private:
  absl::Status CheckEntries(
      const google::protobuf::RepeatedPtrField<ferry::v1::DnatRule>& dnat,
      const google::protobuf::RepeatedPtrField<ferry::v1::ReturnRoute>& returns) const;
  absl::Status CheckCount(uint64_t entries) const;

  const uint64_t max_entries_;
  const LocalAddresses local_addresses_;

  mutable absl::Mutex mu_;
  // Entries per forward as last applied, and their sum.
  absl::flat_hash_map<std::string, uint64_t> held_ ABSL_GUARDED_BY(mu_);
  uint64_t held_total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_STATE_CONFIG_GUARD_H_
