#ifndef FERRY_API_LIB_CONFIG_DELTA_H_
#define FERRY_API_LIB_CONFIG_DELTA_H_

// The one meaning of a node config change (delta xDS), for both ends: the
// controller computes a NodeConfigDelta between what an agent ACKed and the
// new plan; the agent groups a delta (or a full config) by forward and
// applies it. A forward is the unit of change: a forward named in a delta
// has all of its entries replaced, forwards not named keep theirs, and two
// configs hold the same forward iff its entries are equal one by one in
// config order.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::api {

// True if every field of the two entries is equal (cheaper than comparing
// serialized bytes, which a full push would pay for every forward).
bool SameEntry(const ferry::v1::DnatRule& a, const ferry::v1::DnatRule& b);
bool SameEntry(const ferry::v1::ReturnRoute& a, const ferry::v1::ReturnRoute& b);

// One forward's entries, in config order.
struct ForwardEntries {
  std::vector<ferry::v1::DnatRule> dnat;
  std::vector<ferry::v1::ReturnRoute> returns;
};
using ForwardMap = absl::flat_hash_map<std::string, ForwardEntries>;

// A forward's new entries, pointing into the push they came from, each with
// its index there (errors name e.g. `dnat[3]`). No entries: the forward is
// gone from the node.
struct ForwardUpdate {
  std::vector<std::pair<int, const ferry::v1::DnatRule*>> dnat;
  std::vector<std::pair<int, const ferry::v1::ReturnRoute*>> returns;
  bool removes() const { return dnat.empty() && returns.empty(); }
};
using ForwardUpdates = std::map<std::string, ForwardUpdate>;

// A full config grouped by forward.
ForwardMap IndexByForward(const ferry::v1::NodeConfig& config);

// The forwards a delta names, with its entries grouped under them. An entry
// of a forward the delta does not name is INVALID_ARGUMENT naming it.
absl::StatusOr<ForwardUpdates> UpdatesOfDelta(const ferry::v1::NodeConfigDelta& delta);

// The forwards whose entries in `target` differ from `applied` (including
// their generation), and the forwards gone from it (with no entries).
ForwardUpdates UpdatesBetween(const ForwardMap& applied, const ferry::v1::NodeConfig& target);

// Applies updates to `applied`: named forwards take their new entries or,
// with none, are erased.
void ApplyUpdates(const ForwardUpdates& updates, ForwardMap* applied);

// Every forward whose entries differ between `base` and `target` is named,
// with all of its entries in `target` (none: it is gone from the node).
// version = target's, base_version = base's; the forwarding flags are
// target's. Both configs should have their entries sorted by forward (the
// planner's order); unsorted ones are compared correctly, only slower.
ferry::v1::NodeConfigDelta ComputeDelta(const ferry::v1::NodeConfig& base,
                                        const ferry::v1::NodeConfig& target);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_CONFIG_DELTA_H_
