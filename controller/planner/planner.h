#ifndef FERRY_CONTROLLER_PLANNER_PLANNER_H_
#define FERRY_CONTROLLER_PLANNER_PLANNER_H_

// Turns the declared forwards and the registered nodes into what each node
// must install. Pure: no I/O, no clock, so equal inputs give byte-equal
// configs and the reconciler can push only to nodes whose config changed.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "api/lib/conditions.h"
#include "api/lib/forward_spec.h"
#include "controller/planner/plan_forward.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

inline constexpr char kRoleFrontend[] = "Frontend";
inline constexpr char kRoleBackend[] = "Backend";

// Reasons of the Accepted condition.
using api::kReasonAccepted;
inline constexpr char kReasonFrontendNodeNotRegistered[] = "FrontendNodeNotRegistered";
inline constexpr char kReasonAddressNotOnNode[] = "AddressNotOnNode";
inline constexpr char kReasonBackendNodeNotRegistered[] = "BackendNodeNotRegistered";
inline constexpr char kReasonBackendAddressNotOnNode[] = "BackendAddressNotOnNode";
inline constexpr char kReasonNoReturnPath[] = "NoReturnPath";
inline constexpr char kReasonConflict[] = "Conflict";
inline constexpr char kReasonNoNodeSelected[] = "NoNodeSelected";

struct InvolvedNode {
  std::string name;
  std::string role;  // kRoleFrontend or kRoleBackend

  bool operator==(const InvolvedNode&) const = default;
};

// One node that serves a forward as its frontend.
struct FrontendEnd {
  std::string node;
  std::string address;  // what it DNATs
  // PRESERVE: the hop the backend returns this frontend's replies to, and
  // the backend's interface on its network, which the requests arrive on
  // (empty if the hop is on none of its networks).
  std::string return_via;
  std::string return_interface;
  bool operator==(const FrontendEnd&) const = default;
};

// A staged rollout of a forward's change (spec.rollout), as status shows it.
struct RolloutView {
  int64_t stable_generation = 0;      // what nodes not yet released keep
  std::vector<std::string> released;  // nodes given the new generation, name order
  size_t nodes = 0;                   // nodes the rollout covers
  std::string stopped_node;           // set once stopped
  std::string stopped_reason;
  // rollback OnProbeFailure: stopped by a probe, and every node is back on
  // stable_generation.
  bool rolled_back = false;
  bool operator==(const RolloutView&) const = default;
};

// A node the forward's frontend selects that does not serve it, and why.
struct SkippedNode {
  std::string node;
  std::string reason;  // kReason*
  std::string message;
  bool operator==(const SkippedNode&) const = default;
};

struct ForwardResolution {
  // What few forwards have, in one block that the common accepted nodeName
  // forward goes without: 100k resolutions are resident, and these members
  // inline were more than half of each.
  struct Extra {
    std::string message;  // empty when accepted
    // A selector forward's frontends, name order; empty for a nodeName
    // forward, whose one frontend FrontendsOf derives from its spec.
    std::vector<FrontendEnd> frontends;
    std::vector<SkippedNode> skipped;
    // Frontends whose return hop is unknown until they report their route
    // to the backend: each is sent a route query (DnatRule.route_query) so
    // that it does.
    std::vector<std::string> route_query_nodes;
    // Set while a change rolls out (IncrementalPlanner::AdvanceRollouts).
    std::shared_ptr<const RolloutView> rollout;

    bool Empty() const {
      return message.empty() && frontends.empty() && skipped.empty() && route_query_nodes.empty() &&
             rollout == nullptr;
    }
  };

  bool accepted = false;
  std::string reason;  // kReason*
  // The resolved return hops (PRESERVE only), comma-separated: one unless
  // a nodeSelector selects several frontends.
  std::string return_via;
  // A nodeName forward's (PRESERVE): the backend's interface on its return
  // hop's network. A selector forward's are in `frontends()`.
  std::string return_interface;
  // Null when every member of Extra would be empty. Copies share it; write
  // through MutableExtra.
  std::shared_ptr<const Extra> extra;

  const std::string& message() const { return ExtraOrNone().message; }
  const std::vector<FrontendEnd>& frontends() const { return ExtraOrNone().frontends; }
  const std::vector<SkippedNode>& skipped() const { return ExtraOrNone().skipped; }
  const std::vector<std::string>& route_query_nodes() const {
    return ExtraOrNone().route_query_nodes;
  }
  const RolloutView* rollout() const { return ExtraOrNone().rollout.get(); }
  // `extra`, made first if null and copied first if shared.
  Extra& MutableExtra();

 private:
  const Extra& ExtraOrNone() const;
};

struct FleetPlan {
  // One config per known node (empty for nodes without work), version set.
  std::map<std::string, ferry::v1::NodeConfig> node_configs;
  // Keyed by forward name.
  std::map<std::string, ForwardResolution> forwards;
};

FleetPlan PlanFleet(const std::vector<ferry::v1::IPForward>& forwards,
                    const std::vector<ferry::v1::Node>& nodes);

// The building blocks of PlanFleet, shared with IncrementalPlanner.
// ResolveForward makes the checks of one forward that do not depend on other
// forwards (registered nodes, addresses on them, the return hop).
ForwardResolution ResolveForward(ForwardRef forward,
                                 const std::map<std::string, const ferry::v1::Node*>& nodes);
// The resolution of a forward that overlaps an earlier accepted one.
ForwardResolution RejectForConflict(const absl::Status& conflict);
// The frontends of an accepted forward: a selector's as resolved, a
// nodeName's one from its spec and resolution; none if rejected.
std::vector<FrontendEnd> FrontendsOf(ForwardRef forward, const ForwardResolution& resolution);
// The nodes that install something for an accepted forward: its frontends
// (FrontendsOf), then for Preserve its backend; none if rejected. Derived,
// not stored, like FrontendsOf: `forward` must be the spec `resolution`
// was resolved from.
std::vector<InvolvedNode> NodesOf(ForwardRef forward, const ForwardResolution& resolution);
// Adds what one frontend of an accepted forward installs: its DNAT rules
// (and the forwarding flag) on its node and, for Preserve, its return
// routes on the backend node.
void AddFrontendEndEntries(ForwardRef forward, const FrontendEnd& end,
                           std::map<std::string, ferry::v1::NodeConfig>* configs);
// The same for every frontend of the accepted forward.
void AddForwardEntries(ForwardRef forward, const ForwardResolution& resolution,
                       std::map<std::string, ferry::v1::NodeConfig>* configs);
// Appends the route query of a forward whose resolution asks for one (to
// each of route_query_nodes()' configs).
void AddRouteQuery(ForwardRef forward, ferry::v1::NodeConfig* config);

// Sorts the DNAT rules and return routes in the planner's canonical order
// (forward, port, protocol, end port), which deltas and agents rely on.
void SortConfigEntries(ferry::v1::NodeConfig* config);

// The config's content version: a 64-bit hash of the multiset of its
// entries (the sum of each entry's hash, node_plan.h) and its forwarding
// flags, `version` itself aside. Equal configs have equal versions, and a
// node's version follows a change of one forward in O(1) (NodePlan).
std::string ConfigVersion(const ferry::v1::NodeConfig& config);

// The spec's defaults (api/lib/forward_spec.h).
using api::IsAlertOnly;
using api::IsMasquerade;

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PLANNER_PLANNER_H_
