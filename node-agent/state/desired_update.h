#ifndef FERRY_NODE_AGENT_STATE_DESIRED_UPDATE_H_
#define FERRY_NODE_AGENT_STATE_DESIRED_UPDATE_H_

// The agent's boundary: a push (a NodeConfig or a NodeConfigDelta) becomes
// an update to the desired state, in Ferry's own value types, exactly once.
// Everything after (the reconciler's one apply path) works on the update,
// never on the wire message. Pure: no kernel access.

#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "api/lib/config_delta.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/state/desired_state.h"
#include "node-agent/state/forward_state.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// What this node leaves out of a push it cannot fully serve (see
// ipv6_forwards.h): those forwards' entries, and IPv6 forwarding.
struct LeftOut {
  std::set<std::string> forwards;
  bool ipv6_forwarding = false;
};

struct DesiredUpdate {
  std::string version;
  DesiredSysctls sysctls;
  // Set when the update replaces everything held (the first config after
  // the kernel was adopted, or one that is mostly new): the whole desired
  // state, and the forwards it holds.
  std::optional<DesiredState> whole;
  ForwardState whole_forwards;
  // Otherwise: the forwards that change (pointing into the push, which
  // must outlive the update) and what that does to the desired state.
  ferry::api::ForwardUpdates forwards;
  DesiredChange change;
};

// A full config against `held` (the forwards applied, whose desired NAT
// state is `held_nat`): only the forwards whose entries differ are
// converted. With nothing held (nullptr), or less than half as many
// forwards held as the config has entries, the whole config is.
absl::StatusOr<DesiredUpdate> UpdateOfConfig(const ferry::v1::NodeConfig& config,
                                             const ForwardState* held, const NatState& held_nat,
                                             const LeftOut& left_out);

// A delta against `held`: the forwards it names get its entries, the
// others keep theirs. An entry of a forward the delta does not name is
// INVALID_ARGUMENT. The caller checks the delta's base version.
absl::StatusOr<DesiredUpdate> UpdateOfDelta(const ferry::v1::NodeConfigDelta& delta,
                                            const ForwardState& held, const NatState& held_nat,
                                            const LeftOut& left_out);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_STATE_DESIRED_UPDATE_H_
