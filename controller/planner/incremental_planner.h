#ifndef FERRY_CONTROLLER_PLANNER_INCREMENTAL_PLANNER_H_
#define FERRY_CONTROLLER_PLANNER_INCREMENTAL_PLANNER_H_

// PlanFleet kept up to date as forwards and nodes change, with work in
// proportion to the change: a changed forward is resolved again, a node
// whose addresses changed has the forwards that name it resolved again, and
// each node's config is a NodePlan that follows a changed forward's entries
// in O(its entries + log N). A fleet of 100k forwards then costs a pass
// O(changed * log N), not O(N). Plan() always gives what PlanFleet returns
// for the same inputs (tests check it against PlanFleet on random
// histories).
//
// Conflicts need the global, name-ordered view of PlanFleet. Apply rejects
// them, so in a real store they are rare, and the planner stays exact by
// falling back to a full pass whenever one may be involved: a changed
// forward overlapping another accepted forward, or any change while some
// forward is rejected as a Conflict.
//
// Not thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controller/planner/conflicts.h"
#include "controller/planner/node_plan.h"
#include "controller/planner/plan_forward.h"
#include "controller/planner/planner.h"
#include "controller/planner/status.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class IncrementalPlanner {
 public:
  struct Update {
    // Forwards resolved again in this pass (all of them when `full`), name
    // order; their resolution may or may not differ from before.
    std::vector<std::string> forwards;
    // Nodes whose entries were touched; the version tells whether they changed.
    std::vector<std::string> nodes;
    bool full = false;
  };

  // The registered nodes, as PlanFleet takes them. Only names, labels,
  // addresses and route sources matter; unchanged nodes cost a comparison.
  void SetNodes(const std::vector<ferry::v1::Node>& nodes);
  // A forward whose generation or spec may have changed. Keeps `forward`,
  // which must not change while kept.
  void SetForward(std::shared_ptr<const PlanForward> forward);
  // The same with a copy of `forward`'s name, generation and spec.
  void SetForward(const ferry::v1::IPForward& forward);
  void RemoveForward(const std::string& name);
  // Removes every forward for which `keep` is false (after a re-list,
  // which reports no deletions). The nodes' plans, and what they remember
  // of the last push, stay.
  void RemoveForwardsExcept(const std::function<bool(const std::string&)>& keep);
  // The next Plan resolves everything again (a safety-net resync).
  void Invalidate() { full_ = true; }

  Update Plan();

  // Staged rollouts (spec.rollout). What the fleet knows of each node's
  // hold of a forward's frontend entries: for `forward`, by node.
  using ProgressFn = std::function<std::map<std::string, NodeAckInfo>(
      const PlanForward& forward, const std::vector<InvolvedNode>& nodes)>;
  struct RolloutStep {
    bool changed = false;                     // Plan again: pieces moved
    std::optional<absl::Time> next_deadline;  // the earliest still running
    // Commit-confirmed changes undone in this step: forward, and what
    // happened ("generation 3 rolled back to generation 2: node …").
    std::vector<std::pair<std::string, std::string>> rolled_back;
  };
  // Moves each rolling forward on, after Plan: stops it at a released node
  // that NACKed or has not ACKed within its deadline, completes it once
  // every node holds the new generation (or, if deselected, nothing), and
  // otherwise releases its next nodes, in name order, while fewer than
  // maxUnavailable released ones are still changing. Nodes not released
  // keep the entries of the last generation every node applied.
  //
  // rollback OnProbeFailure makes every change a rollout (of all nodes at
  // once without spec.rollout) that a node completes only when its probe
  // of the new generation passed: a failed probe, or none passing within
  // probe.confirmSeconds of the ACK, stops it and returns every node to
  // the stable generation (rolled back).
  RolloutStep AdvanceRollouts(absl::Time now, const ProgressFn& progress);

  // After Plan: the forward's resolution, or null if it is not declared.
  const ForwardResolution* Resolution(const std::string& name) const;
  // After Plan: fn(forward, resolution) for each declared forward, in name
  // order; with `names` (sorted), only for those of them that are declared.
  // A status pass over all 100k forwards then costs a walk, not 100k
  // lookups by name.
  template <typename Fn>
  void ForEachForward(Fn fn) const;
  template <typename Fn>
  void ForEachForwardOf(const std::set<std::string>& names, Fn fn) const;
  // After Plan: the node's config (version set), or null if the node is not
  // registered. Built on each call (O(its entries)): for full pushes.
  std::shared_ptr<const ferry::v1::NodeConfig> Config(const std::string& node) const;
  // After Plan: the node's plan (version, size, deltas), or null if the
  // node is not registered.
  const NodePlan* ForNode(const std::string& node) const;
  NodePlan* ForNode(const std::string& node);
  size_t node_count() const { return plans_.size(); }
  size_t forward_count() const { return forwards_.size(); }

 private:
  struct Rollout {
    // The last generation every node applied, its resolution, and the
    // nodes given the forward's spec so far (with when).
    std::shared_ptr<const PlanForward> stable;
    ForwardResolution stable_resolution;
    std::map<std::string, absl::Time> released;
    std::optional<std::pair<std::string, std::string>> stopped;  // node, why
    // Commit-confirmed: when each node was first seen holding the new
    // generation (its probe's deadline runs from there), and whether a
    // probe stopped it and every node went back to `stable`.
    std::map<std::string, absl::Time> applied_at;
    bool rolled_back = false;
    // The nodes its pieces are on: they are not all its resolution's.
    std::vector<std::string> placed;
    // Done (complete, or the spec dropped spec.rollout): the next placing
    // of its pieces takes them off `placed` and ends it.
    bool ending = false;
  };
  struct Forward {
    // Its name, generation and spec are what the plan depends on.
    std::shared_ptr<const PlanForward> spec;
    ForwardResolution resolution;
    bool in_conflict = false;
    // Set only while a change rolls out: most forwards never have one, so
    // it costs them a pointer.
    std::unique_ptr<Rollout> rollout;
  };
  // Its rollout as status shows it, or none.
  static std::shared_ptr<const RolloutView> ViewOf(const Forward& forward);
  // Whether its pieces follow a rollout (rather than its spec alone).
  static bool Rolling(const Forward& forward) {
    return forward.rollout != nullptr && !forward.rollout->ending;
  }
  // The nodes that may hold a piece of the forward, while its resolution is
  // of its spec (derived from both: NodesOf).
  static std::set<std::string> HoldersOf(const Forward& forward);
  // The same, or, if its spec changed since the last Plan, what they were
  // then (held_before_).
  std::set<std::string> HoldersNow(const std::string& name, const Forward& forward) const;
  // Resolves the forward (and its stable generation, while rolling out).
  void Resolve(Forward& forward);
  // The nodes a rolling forward's rollout covers: its frontends under
  // either generation, name order.
  static std::vector<std::string> RolloutNodes(const Forward& forward);
  // What the forward installs on each node, by node: its entries if
  // accepted, else its route query if it has one.
  static std::map<std::string, NodePlan::PiecePtr> PiecesOf(const Forward& forward);
  // Takes the forward's entries off `holders`.
  void DropPieces(const std::string& name, const std::set<std::string>& holders);
  // Indexes the forward if accepted, and puts its entries on its nodes in
  // place of those it had on the nodes of `before`.
  void PlacePieces(const std::string& name, Forward& forward, const std::set<std::string>& before);
  // Records where a rolling forward's pieces went, or ends a rollout that
  // is done now that its pieces follow the spec alone.
  void SettleRollout(const std::string& name, Forward& forward,
                     const std::map<std::string, NodePlan::PiecePtr>& pieces);
  // The conflict index of just the forwards accepted now.
  void RebuildIndex();
  void PlanAll(Update* update);
  // False if a conflict may be involved; then only PlanAll is exact.
  bool PlanDirty(Update* update);
  void SealNodes(Update* update);
  void IndexNodeNames(const std::string& name, const PlanForward& forward, bool add);

  std::map<std::string, Forward> forwards_;
  std::map<std::string, ferry::v1::Node> nodes_;                  // name, addresses
  std::map<std::string, const ferry::v1::Node*> node_ptrs_;       // for ResolveForward
  std::map<std::string, std::string> node_fingerprints_;          // serialized addresses
  std::map<std::string, std::set<std::string>> forwards_naming_;  // node -> forwards
  std::set<std::string> selector_forwards_;  // frontend by nodeSelector: dirtied by any node
  std::set<std::string> rolling_;            // forwards with a Rollout
  std::map<std::string, NodePlan> plans_;    // one per registered node

  // Accepted forwards, including versions superseded since the last rebuild
  // (the index cannot remove): ConflictIndex::Check ignores a candidate's own
  // name, and a hit on a stale entry is re-checked on a rebuilt index.
  ConflictIndex index_;
  std::vector<std::shared_ptr<const PlanForward>> indexed_;
  size_t conflicted_ = 0;  // forwards rejected as Conflict

  std::set<std::string> dirty_forwards_;  // changed, removed or naming a changed node
  // Forwards whose spec changed since the last Plan: the nodes that held
  // their pieces then. A resolution does not store its nodes (NodesOf
  // derives them from the spec), so they must be taken before the spec goes.
  std::map<std::string, std::set<std::string>> held_before_;
  std::set<std::string> dirty_nodes_;  // plans to seal (or drop)
  bool full_ = true;
};

template <typename Fn>
void IncrementalPlanner::ForEachForward(Fn fn) const {
  for (const auto& [name, f] : forwards_) fn(*f.spec, f.resolution);
}

template <typename Fn>
void IncrementalPlanner::ForEachForwardOf(const std::set<std::string>& names, Fn fn) const {
  // A few names are looked up; many are merged with the forwards, both in
  // name order.
  if (names.size() * 16 < forwards_.size()) {
    for (const std::string& name : names) {
      if (auto it = forwards_.find(name); it != forwards_.end()) {
        fn(*it->second.spec, it->second.resolution);
      }
    }
    return;
  }
  auto f = forwards_.begin();
  for (const std::string& name : names) {
    while (f != forwards_.end() && f->first < name) ++f;
    if (f == forwards_.end()) return;
    if (f->first == name) fn(*f->second.spec, f->second.resolution);
  }
}

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PLANNER_INCREMENTAL_PLANNER_H_
