#ifndef FERRY_TESTS_UNIT_API_APPLY_DELTA_H_
#define FERRY_TESTS_UNIT_API_APPLY_DELTA_H_

// The whole config an agent holds after applying `delta` on `base`, through
// the api/lib functions the agent itself uses, for tests that compare it
// with a planned config. Entries come out grouped by forward in name order
// (the planner's order); version and forwarding flags are the delta's.

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/lib/config_delta.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::testing {

inline absl::StatusOr<ferry::v1::NodeConfig> ApplyDeltaAsAgent(
    const ferry::v1::NodeConfig& base, const ferry::v1::NodeConfigDelta& delta) {
  absl::StatusOr<api::ForwardUpdates> updates = api::UpdatesOfDelta(delta);
  if (!updates.ok()) return updates.status();
  api::ForwardMap forwards = api::IndexByForward(base);
  api::ApplyUpdates(*updates, &forwards);
  std::vector<std::string> names;
  for (const auto& [name, entries] : forwards) names.push_back(name);
  std::sort(names.begin(), names.end());
  ferry::v1::NodeConfig config;
  for (const std::string& name : names) {
    for (const ferry::v1::DnatRule& rule : forwards.at(name).dnat) *config.add_dnat() = rule;
    for (const ferry::v1::ReturnRoute& route : forwards.at(name).returns) {
      *config.add_return_routes() = route;
    }
  }
  config.set_ipv4_forwarding(delta.ipv4_forwarding());
  config.set_ipv6_forwarding(delta.ipv6_forwarding());
  config.set_version(delta.version());
  return config;
}

}  // namespace ferry::testing

#endif  // FERRY_TESTS_UNIT_API_APPLY_DELTA_H_
