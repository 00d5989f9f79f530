#include "controller/fleet/fleet_events.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/objects.h"

namespace ferry::controller {

EventOccurrence NodeStreamEvent(const std::string& node, bool connected, absl::Time when) {
  EventOccurrence o;
  o.involved_kind = api::kKindNode;
  o.involved_name = node;
  o.reason = connected ? kEventNodeConnected : kEventNodeDisconnected;
  o.type = connected ? kEventTypeNormal : kEventTypeWarning;
  o.node = node;
  o.message = absl::StrCat("agent of node ", node, connected ? " connected" : " disconnected");
  o.time = when;
  return o;
}

std::vector<EventOccurrence> ApplyFailedEvents(const std::string& node,
                                               const ferry::v1::ConfigAck& ack, absl::Time when) {
  EventOccurrence o;
  o.reason = kEventApplyFailed;
  o.type = kEventTypeWarning;
  o.node = node;
  o.time = when;
  if (ack.forward_errors().empty()) {
    o.involved_kind = api::kKindNode;
    o.involved_name = node;
    o.message = absl::StrCat("node ", node, " rejected config ", ack.version(), ": ", ack.error());
    return {std::move(o)};
  }
  std::vector<EventOccurrence> out;
  std::map<std::string, std::string> sorted(ack.forward_errors().begin(),
                                            ack.forward_errors().end());
  for (const auto& [forward, error] : sorted) {
    EventOccurrence f = o;
    f.involved_kind = api::kKindIPForward;
    f.involved_name = forward;
    f.message = absl::StrCat("node ", node, " failed to apply config ", ack.version(), ": ", error);
    out.push_back(std::move(f));
  }
  return out;
}

EventOccurrence RolledBackEvent(const std::string& forward, const std::string& what,
                                absl::Time when) {
  EventOccurrence o;
  o.involved_kind = api::kKindIPForward;
  o.involved_name = forward;
  o.reason = kEventRolledBack;
  o.type = kEventTypeWarning;
  o.message = what;
  o.time = when;
  return o;
}

}  // namespace ferry::controller
