#ifndef FERRY_CONTROLLER_RESOURCES_CONFIG_PREVIEW_H_
#define FERRY_CONTROLLER_RESOURCES_CONFIG_PREVIEW_H_

// The node configs an apply would change, for ResourceService.Diff: the
// stored forwards with the request's IPForwards in place of those of the
// same name (or beside them), planned with PlanFleet against the stored
// Nodes, compared node by node with PlanFleet of the stored state alone.
// A node is affected when its config's version differs. Each forward of
// the request is planned with the generation the apply would give it (the
// stored one for an unchanged spec, one more for a changed one, 1 for a new
// forward), so applying a forward again unchanged affects no node. The
// request's Nodes change no plan here (their labels are merged with their
// agents' by the fleet).

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// Pure: the full config each affected node would get, by node name.
std::map<std::string, ferry::v1::NodeConfig> ChangedConfigs(
    std::vector<ferry::v1::IPForward> stored, const std::vector<ferry::v1::Node>& nodes,
    const ferry::v1::ApplyRequest& request);

// The same over what `store` holds: its forwards and Nodes, each kind
// listed from one snapshot.
absl::StatusOr<std::map<std::string, ferry::v1::NodeConfig>> ChangedConfigs(
    Store* store, const ferry::v1::ApplyRequest& request);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_RESOURCES_CONFIG_PREVIEW_H_
