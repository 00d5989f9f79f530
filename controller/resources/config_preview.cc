#include "controller/resources/config_preview.h"

#include <utility>

#include "api/lib/objects.h"
#include "controller/planner/planner.h"
#include "controller/store/object_codec.h"

namespace ferry::controller {
namespace {

// Decodes every stored object of `kind`, handing each to `take`.
template <typename Take>
absl::Status ListDecoded(Store* store, const std::string& kind, Take take) {
  absl::Status failed;
  absl::StatusOr<int64_t> listed = store->List(kind, [&](const StoredObject& stored) {
    absl::StatusOr<ferry::v1::Object> object = DecodeStored(stored);
    if (!object.ok()) {
      failed = object.status();
      return false;
    }
    take(*std::move(object));
    return true;
  });
  if (!listed.ok()) return listed.status();
  return failed;
}

}  // namespace

std::map<std::string, ferry::v1::NodeConfig> ChangedConfigs(
    std::vector<ferry::v1::IPForward> stored, const std::vector<ferry::v1::Node>& nodes,
    const ferry::v1::ApplyRequest& request) {
  FleetPlan before = PlanFleet(stored, nodes);
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < stored.size(); ++i) by_name[stored[i].metadata().name()] = i;
  for (const ferry::v1::Object& object : request.objects()) {
    if (!object.has_ip_forward()) continue;
    ferry::v1::IPForward forward = object.ip_forward();
    forward.clear_status();
    auto it = by_name.find(forward.metadata().name());
    if (it == by_name.end()) {
      forward.mutable_metadata()->set_generation(1);
      by_name.emplace(forward.metadata().name(), stored.size());
      stored.push_back(std::move(forward));
      continue;
    }
    ferry::v1::IPForward& current = stored[it->second];
    const int64_t generation = current.metadata().generation();
    forward.mutable_metadata()->set_generation(
        api::SameSpec(current.spec(), forward.spec()) ? generation : generation + 1);
    current = std::move(forward);
  }
  FleetPlan after = PlanFleet(stored, nodes);
  std::map<std::string, ferry::v1::NodeConfig> changed;
  for (auto& [node, config] : after.node_configs) {
    auto was = before.node_configs.find(node);
    if (was != before.node_configs.end() && was->second.version() == config.version()) continue;
    changed.emplace(node, std::move(config));
  }
  return changed;
}

absl::StatusOr<std::map<std::string, ferry::v1::NodeConfig>> ChangedConfigs(
    Store* store, const ferry::v1::ApplyRequest& request) {
  std::vector<ferry::v1::IPForward> forwards;
  std::vector<ferry::v1::Node> nodes;
  absl::Status listed = ListDecoded(store, api::kKindIPForward, [&](ferry::v1::Object object) {
    if (object.has_ip_forward()) forwards.push_back(std::move(*object.mutable_ip_forward()));
  });
  if (!listed.ok()) return listed;
  listed = ListDecoded(store, api::kKindNode, [&](ferry::v1::Object object) {
    if (object.has_node()) nodes.push_back(std::move(*object.mutable_node()));
  });
  if (!listed.ok()) return listed;
  return ChangedConfigs(std::move(forwards), nodes, request);
}

}  // namespace ferry::controller
