#ifndef FERRY_NODE_AGENT_STATE_FORWARD_STATE_H_
#define FERRY_NODE_AGENT_STATE_FORWARD_STATE_H_

// The forwards this node holds, as last applied: their entries by forward
// (what the next full push is compared with, api/lib/config_delta.h) and
// who shares which element, so that a push changing a few forwards is
// planned in O(those forwards) however many the node holds: only their
// entries are expanded, and only the elements they held or claim are
// recomputed. Pure: no kernel access.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/lib/config_delta.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/state/desired_state.h"
#include "node-agent/state/element_owners.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// What a set of updates does to the desired state, for the touched
// elements only.
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

class ForwardState {
 public:
  // Holds nothing (before the first config).
  ForwardState() = default;
  // Holds `config`'s forwards but those in `left_out`; `sharers` are
  // those of its desired state (BuildDesiredState's).
  static ForwardState Of(const ferry::v1::NodeConfig& config, const std::set<std::string>& left_out,
                         Sharers sharers);

  // The entries of each forward held, in push order.
  const ferry::api::ForwardMap& forwards() const { return forwards_; }
  size_t size() const { return forwards_.size(); }

  // Validates the updates and computes their effect on `nat`, the desired
  // NAT state this describes: each updated forward first gives up every
  // element it held, then claims those of its new entries, as
  // element_owners.h rules. Errors are INVALID_ARGUMENT naming the forward
  // and field, as BuildDesiredState's.
  absl::StatusOr<DesiredChange> Plan(const ferry::api::ForwardUpdates& updates,
                                     const NatState& nat) const;

  // Records updates that were applied, with the change Plan computed.
  void Commit(const ferry::api::ForwardUpdates& updates, const DesiredChange& change);

 private:
  ferry::api::ForwardMap forwards_;
  Sharers sharers_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_STATE_FORWARD_STATE_H_
