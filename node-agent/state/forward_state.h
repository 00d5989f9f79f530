#ifndef FERRY_NODE_AGENT_STATE_FORWARD_INDEX_H_
#define FERRY_NODE_AGENT_STATE_FORWARD_INDEX_H_

// The last applied config, indexed by forward, so that a push changing a
// few forwards costs O(those forwards) however many the node holds: only
// their entries are expanded, and only the keys they produced or produce
// are recomputed. Pure: no kernel access.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/state/desired_state.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// One forward's entries as last applied, in push order.
struct ForwardEntries {
  std::vector<ferry::v1::DnatRule> dnat;
  std::vector<ferry::v1::ReturnRoute> returns;
};

// A forward's new entries, pointing into the push they came from, each with
// its index there (errors name e.g. `dnat[3]`). No entries: the forward is
// gone from this node.
struct ForwardUpdate {
  std::vector<std::pair<int, const ferry::v1::DnatRule*>> dnat;
  std::vector<std::pair<int, const ferry::v1::ReturnRoute*>> returns;
};
using ForwardUpdates = std::map<std::string, ForwardUpdate>;

// The forwards a delta names, with its entries grouped under them. An entry
// of a forward the delta does not name is INVALID_ARGUMENT.
absl::StatusOr<ForwardUpdates> UpdatesOfDelta(const ferry::v1::NodeConfigDelta& delta);

// What a set of updates does to the desired state, for the touched keys only.
struct DesiredChange {
  std::map<DnatKey, std::optional<DnatTarget>> dnat;  // nullopt: no longer wanted
  std::map<MasqKey, std::optional<std::string>> masq;
  std::map<DnatKey, std::vector<std::string>> dnat_sharers;  // empty: none
  std::map<MasqKey, std::vector<std::string>> masq_sharers;
  std::map<std::string, bool> alert;  // updated forwards that remain: Alert?
  std::vector<DesiredReturn> returns_removed;
  std::vector<DesiredReturn> returns_added;
  bool returns_touched() const { return !returns_removed.empty() || !returns_added.empty(); }
};

// True if every field of the two entries is equal (cheaper than comparing
// serialized bytes, which a full push would pay for every forward).
bool SameEntry(const ferry::v1::DnatRule& a, const ferry::v1::DnatRule& b);
bool SameEntry(const ferry::v1::ReturnRoute& a, const ferry::v1::ReturnRoute& b);

class ForwardIndex {
 public:
  // Indexes `config`, whose desired state is `desired` (for its sharers).
  static ForwardIndex FromConfig(const ferry::v1::NodeConfig& config, const DesiredState& desired);

  // Forwards whose entries in `config` differ from the index (including
  // their generation), and forwards gone from it.
  ForwardUpdates UpdatesTo(const ferry::v1::NodeConfig& config) const;

  // Validates the updates and computes their effect on `nat`, the desired
  // NAT state this index describes. Errors are INVALID_ARGUMENT naming the
  // forward and field, as BuildDesiredState's.
  absl::StatusOr<DesiredChange> Plan(const ForwardUpdates& updates, const NatState& nat) const;

  // Records updates that were applied, with the change Plan computed.
  void Commit(const ForwardUpdates& updates, const DesiredChange& change);

  // The whole config this index describes with `updates` applied, entries
  // sorted by forward (the version is left empty).
  ferry::v1::NodeConfig ToConfig(const ForwardUpdates& updates) const;

  size_t size() const { return forwards_.size(); }

 private:
  absl::flat_hash_map<std::string, ForwardEntries> forwards_;
  std::map<DnatKey, std::vector<std::string>> dnat_sharers_;
  std::map<MasqKey, std::vector<std::string>> masq_sharers_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_STATE_FORWARD_INDEX_H_
