#include "node-agent/state/desired_update.h"

#include <utility>

namespace ferry::agent {
namespace {

DesiredSysctls SysctlsOf(bool ipv4, bool ipv6, const LeftOut& left_out) {
  return DesiredSysctls{ipv4, ipv6 && !left_out.ipv6_forwarding};
}

// A left-out forward that is held, or that the push names, loses its
// entries: whatever this node installed for it goes.
void LeaveOut(const LeftOut& left_out, const ForwardState& held,
              ferry::api::ForwardUpdates& updates) {
  for (const std::string& name : left_out.forwards) {
    auto it = updates.find(name);
    if (it != updates.end()) {
      it->second = ferry::api::ForwardUpdate();
    } else if (held.forwards().contains(name)) {
      updates[name];
    }
  }
}

absl::StatusOr<DesiredUpdate> Planned(ferry::api::ForwardUpdates updates, const ForwardState& held,
                                      const NatState& held_nat, DesiredUpdate update) {
  absl::StatusOr<DesiredChange> change = held.Plan(updates, held_nat);
  if (!change.ok()) return change.status();
  update.forwards = std::move(updates);
  update.change = *std::move(change);
  return update;
}

}  // namespace

absl::StatusOr<DesiredUpdate> UpdateOfConfig(const ferry::v1::NodeConfig& config,
                                             const ForwardState* held, const NatState& held_nat,
                                             const LeftOut& left_out) {
  DesiredUpdate update;
  update.version = config.version();
  update.sysctls = SysctlsOf(config.ipv4_forwarding(), config.ipv6_forwarding(), left_out);
  // Built whole, as at a cold start, when most of the config is new (the
  // first real push after an empty one, a node taking over a fleet's
  // forwards): diffing 100k new forwards one by one against held state
  // costs several times building the table and converging it whole.
  const size_t entries = static_cast<size_t>(config.dnat_size() + config.return_routes_size());
  if (held == nullptr || 2 * held->forwards().size() < entries) {
    absl::StatusOr<DesiredState> whole = BuildDesiredState(config, left_out.forwards);
    if (!whole.ok()) return whole.status();
    update.whole_forwards = ForwardState::Of(config, left_out.forwards, std::move(whole->sharers));
    update.whole = *std::move(whole);
    return update;
  }
  ferry::api::ForwardUpdates updates = ferry::api::UpdatesBetween(held->forwards(), config);
  LeaveOut(left_out, *held, updates);
  return Planned(std::move(updates), *held, held_nat, std::move(update));
}

absl::StatusOr<DesiredUpdate> UpdateOfDelta(const ferry::v1::NodeConfigDelta& delta,
                                            const ForwardState& held, const NatState& held_nat,
                                            const LeftOut& left_out) {
  DesiredUpdate update;
  update.version = delta.version();
  update.sysctls = SysctlsOf(delta.ipv4_forwarding(), delta.ipv6_forwarding(), left_out);
  absl::StatusOr<ferry::api::ForwardUpdates> updates = ferry::api::UpdatesOfDelta(delta);
  if (!updates.ok()) return updates.status();
  LeaveOut(left_out, held, *updates);
  return Planned(*std::move(updates), held, held_nat, std::move(update));
}

}  // namespace ferry::agent
