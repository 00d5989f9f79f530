#include "controller/planner/status.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/lib/timestamps.h"

namespace ferry::controller {
namespace {

using ferry::v1::Condition;
using ferry::v1::IPForwardStatus;
using ferry::v1::NodeForwardStatus;

Condition MakeCondition(const char* type, bool value, std::string reason, std::string message,
                        int64_t generation) {
  Condition c;
  c.set_type(type);
  c.set_status(value ? "True" : "False");
  c.set_reason(std::move(reason));
  c.set_message(std::move(message));
  c.set_observed_generation(generation);
  return c;
}

Condition UnknownCondition(const char* type, std::string reason, std::string message,
                           int64_t generation) {
  Condition c = MakeCondition(type, false, std::move(reason), std::move(message), generation);
  c.set_status("Unknown");
  return c;
}

// Conditions stay readable: the first few entries, then a count.
constexpr size_t kMaxListed = 3;

std::string Listed(const std::vector<std::string>& entries) {
  std::vector<std::string> shown(entries.begin(),
                                 entries.begin() + std::min(entries.size(), kMaxListed));
  std::string out = absl::StrJoin(shown, "; ");
  if (entries.size() > kMaxListed) {
    absl::StrAppend(&out, "; and ", entries.size() - kMaxListed, " more");
  }
  return out;
}

NodeForwardStatus NodeState(const InvolvedNode& node, int64_t generation,
                            const std::map<std::string, NodeAckInfo>& acks) {
  NodeForwardStatus s;
  s.set_name(node.name);
  s.set_role(node.role);
  auto it = acks.find(node.name);
  NodeAckInfo none;
  const NodeAckInfo& ack = it == acks.end() ? none : it->second;
  s.set_applied_generation(ack.acked_generation.value_or(0));
  if (ack.nacked) {
    s.set_state(kStateFailed);
    s.set_message(ack.error);
  } else if (ack.acked_generation == generation) {
    s.set_state(kStateApplied);
  } else {
    s.set_state(kStatePending);
  }
  return s;
}

Condition ReadyCondition(ForwardRef forward, const ForwardResolution& resolution,
                         const IPForwardStatus& status) {
  int64_t generation = forward.generation();
  if (!resolution.accepted) {
    return MakeCondition(kConditionReady, false, kReasonNotAccepted,
                         absl::StrCat("not accepted: ", resolution.reason), generation);
  }
  const RolloutView* rollout = resolution.rollout();
  if (rollout != nullptr && rollout->rolled_back) {
    return MakeCondition(kConditionReady, false, kReasonRolledBack,
                         absl::StrCat("generation ", generation, " rolled back to generation ",
                                      rollout->stable_generation, ": ", rollout->stopped_reason),
                         generation);
  }
  if (rollout != nullptr && !rollout->stopped_node.empty()) {
    return MakeCondition(
        kConditionReady, false, kReasonRolloutStopped,
        absl::StrCat("rollout of generation ", generation, " stopped: ", rollout->stopped_reason,
                     "; node(s) not yet reached keep generation ", rollout->stable_generation),
        generation);
  }
  std::vector<std::string> failed, pending, applied;
  for (const NodeForwardStatus& n : status.nodes()) {
    if (n.state() == kStateFailed) {
      failed.push_back(absl::StrCat("node ", n.name(), " failed to apply generation ", generation,
                                    ": ", n.message()));
    } else if (n.state() == kStatePending) {
      pending.push_back(n.name());
    } else {
      applied.push_back(n.name());
    }
  }
  if (!failed.empty()) {
    return MakeCondition(kConditionReady, false, kReasonApplyFailed, absl::StrJoin(failed, "; "),
                         generation);
  }
  if (!pending.empty()) {
    std::string message = absl::StrCat("waiting for node ", absl::StrJoin(pending, ", node "),
                                       " to apply generation ", generation);
    if (rollout != nullptr) {
      absl::StrAppend(&message, " (rolling out: ", rollout->released.size(), " of ", rollout->nodes,
                      " node(s) released: ", absl::StrJoin(rollout->released, ", "), ")");
    }
    return MakeCondition(kConditionReady, false, kReasonPending, std::move(message), generation);
  }
  return MakeCondition(kConditionReady, true, kReasonApplied,
                       absl::StrCat("applied on node ", absl::StrJoin(applied, ", node ")),
                       generation);
}

}  // namespace

std::string DescribeDrift(const ferry::v1::DriftItem& item) {
  if (item.expected().empty()) {
    return absl::StrCat(item.object(), ": unexpected, found \"", item.found(), "\"");
  }
  if (item.found().empty()) {
    return absl::StrCat(item.object(), ": missing, expected \"", item.expected(), "\"");
  }
  return absl::StrCat(item.object(), ": expected \"", item.expected(), "\", found \"", item.found(),
                      "\"");
}

Condition DriftedCondition(ForwardRef forward, const std::vector<ForwardDrift>& drift) {
  int64_t generation = forward.generation();
  if (drift.empty()) {
    return MakeCondition(kConditionDrifted, false, kReasonInSync,
                         "no unrepaired drift reported by its nodes", generation);
  }
  std::vector<std::string> listed;
  for (const ForwardDrift& d : drift) {
    listed.push_back(absl::StrCat("node ", d.node, ": ", DescribeDrift(d.item)));
  }
  return MakeCondition(kConditionDrifted, true, kReasonDriftDetected, Listed(listed), generation);
}

Condition InSyncCondition(const ferry::v1::DriftReport& report, int64_t generation) {
  std::vector<std::string> unrepaired;
  for (const ferry::v1::DriftItem& item : report.items()) {
    if (!item.repaired()) unrepaired.push_back(item.object());
  }
  if (report.in_sync()) {
    std::string message =
        report.items_size() == 0
            ? "the kernel matches the applied config"
            : absl::StrCat("the kernel matches the applied config after repairing ",
                           report.items_size(), " drifted object(s)");
    return MakeCondition(kConditionInSync, true, kReasonInSync, std::move(message), generation);
  }
  size_t n = unrepaired.empty() ? static_cast<size_t>(report.items_size()) : unrepaired.size();
  std::string message = absl::StrCat(n, " drifted object(s)");
  if (!unrepaired.empty()) absl::StrAppend(&message, ": ", Listed(unrepaired));
  return MakeCondition(kConditionInSync, false, kReasonDriftDetected, std::move(message),
                       generation);
}

void SetCondition(Condition condition, absl::Time now,
                  const google::protobuf::RepeatedPtrField<Condition>& previous,
                  google::protobuf::RepeatedPtrField<Condition>* conditions) {
  for (const Condition& p : previous) {
    if (p.type() == condition.type() && p.status() == condition.status() &&
        p.has_last_transition_time()) {
      *condition.mutable_last_transition_time() = p.last_transition_time();
      break;
    }
  }
  if (!condition.has_last_transition_time()) {
    api::SetTimestamp(now, condition.mutable_last_transition_time());
  }
  *conditions->Add() = std::move(condition);
}

Condition AcceptedCondition(const ForwardResolution& resolution, int64_t generation) {
  return MakeCondition(kConditionAccepted, resolution.accepted, resolution.reason,
                       resolution.message(), generation);
}

Condition DataPathCondition(ForwardRef forward, const ForwardResolution& resolution,
                            const std::map<std::string, NodeAckInfo>& node_acks) {
  const int64_t generation = forward.generation();
  if (!resolution.accepted) {
    return UnknownCondition(kConditionDataPathVerified, kReasonNotProbed,
                            "not probed: the forward is not accepted", generation);
  }
  std::vector<std::string> failed, unproven, waiting, passed, unable;
  for (const FrontendEnd& end : FrontendsOf(forward, resolution)) {
    auto it = node_acks.find(end.node);
    if (it == node_acks.end() || !it->second.data_path.has_value()) {
      // An agent that is connected and cannot probe never will.
      const bool cannot =
          it != node_acks.end() && it->second.acked_generation.has_value() && !it->second.probes;
      (cannot ? unable : waiting).push_back(end.node);
      continue;
    }
    const DataPathVerdict& v = *it->second.data_path;
    switch (v.status) {
      case DataPathVerdict::Status::kTrue:
        passed.push_back(end.node);
        break;
      case DataPathVerdict::Status::kFalse:
        failed.push_back(absl::StrCat("node ", end.node, ": ", v.message));
        break;
      case DataPathVerdict::Status::kUnknown:
        unproven.push_back(absl::StrCat("node ", end.node, ": ", v.message));
        break;
    }
  }
  if (!failed.empty()) {
    return MakeCondition(kConditionDataPathVerified, false, kReasonProbeFailed, Listed(failed),
                         generation);
  }
  if (!waiting.empty()) {
    return UnknownCondition(
        kConditionDataPathVerified, kReasonNotProbed,
        absl::StrCat("no probe result yet from node ", absl::StrJoin(waiting, ", node ")),
        generation);
  }
  if (!unable.empty()) {
    return UnknownCondition(kConditionDataPathVerified, kReasonNotProbed,
                            absl::StrCat("the agent of node ", absl::StrJoin(unable, ", node "),
                                         " does not probe (an older version)"),
                            generation);
  }
  if (!unproven.empty()) {
    return UnknownCondition(kConditionDataPathVerified, kReasonUnproven, Listed(unproven),
                            generation);
  }
  if (passed.empty()) {
    return UnknownCondition(kConditionDataPathVerified, kReasonNotProbed,
                            "no frontend node serves it", generation);
  }
  return MakeCondition(kConditionDataPathVerified, true, kReasonVerified,
                       absl::StrCat("the probe passed on node ", absl::StrJoin(passed, ", node ")),
                       generation);
}

IPForwardStatus ComputeStatus(ForwardRef forward, const ForwardResolution& resolution,
                              const std::map<std::string, NodeAckInfo>& node_acks, absl::Time now,
                              const IPForwardStatus& previous) {
  int64_t generation = forward.generation();
  IPForwardStatus status;
  status.set_observed_generation(generation);
  status.set_return_via(resolution.return_via);
  const std::vector<FrontendEnd> frontends = FrontendsOf(forward, resolution);
  for (const InvolvedNode& node : NodesOf(forward, resolution)) {
    NodeForwardStatus& n = *status.add_nodes();
    n = NodeState(node, generation, node_acks);
    if (node.role != kRoleFrontend) continue;
    for (const FrontendEnd& end : frontends) {
      if (end.node == node.name) n.set_address(end.address);
    }
    if (auto it = node_acks.find(node.name);
        it != node_acks.end() && it->second.data_path.has_value()) {
      n.set_data_path(StatusName(it->second.data_path->status));
      n.set_data_path_message(it->second.data_path->message);
    }
  }
  // Selected nodes that cannot serve it: the forward is not Ready while
  // one of them is, and each says why.
  if (resolution.accepted) {
    for (const SkippedNode& skipped : resolution.skipped()) {
      NodeForwardStatus& n = *status.add_nodes();
      n.set_name(skipped.node);
      n.set_role(kRoleFrontend);
      n.set_state(kStateFailed);
      n.set_message(absl::StrCat(skipped.reason, ": ", skipped.message));
    }
  }
  Condition accepted = AcceptedCondition(resolution, generation);
  Condition ready = ReadyCondition(forward, resolution, status);
  if (const RolloutView* rollout = resolution.rollout();
      rollout != nullptr && rollout->rolled_back) {
    status.set_rolled_back_to_generation(rollout->stable_generation);
  }
  SetCondition(std::move(accepted), now, previous.conditions(), status.mutable_conditions());
  SetCondition(std::move(ready), now, previous.conditions(), status.mutable_conditions());
  SetCondition(DataPathCondition(forward, resolution, node_acks), now, previous.conditions(),
               status.mutable_conditions());
  return status;
}

}  // namespace ferry::controller
