#include "controller/planner/incremental_planner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/forward_spec.h"
#include "api/lib/validation.h"

namespace ferry::controller {
namespace {

using ferry::v1::IPForward;
using ferry::v1::Node;
using ferry::v1::NodeConfig;

// Whether a change of the forward goes out as a rollout: staged
// (spec.rollout), or commit-confirmed (rollback OnProbeFailure).
bool Staged(const ferry::v1::IPForwardSpec& spec) {
  return spec.has_rollout() || api::RollsBackOnProbeFailure(spec);
}

// What ResolveForward reads of a node, as one comparable string.
std::string Fingerprint(const Node& node) {
  std::string out;
  for (const auto& a : node.status().addresses()) {
    absl::StrAppend(&out, a.interface(), " ", a.address(), "/", a.prefix_length(), ";");
  }
  out.push_back('|');
  // Sorted: equal labels, equal fingerprints, whatever the map's order.
  std::vector<std::pair<std::string, std::string>> labels(node.metadata().labels().begin(),
                                                          node.metadata().labels().end());
  std::sort(labels.begin(), labels.end());
  for (const auto& [key, value] : labels) absl::StrAppend(&out, key, "=", value, ";");
  out.push_back('|');
  for (const auto& r : node.status().route_sources()) {
    absl::StrAppend(&out, r.destination(), ">", r.source(), ";");
  }
  return out;
}

}  // namespace

void IncrementalPlanner::SetNodes(const std::vector<Node>& nodes) {
  std::set<std::string> present;
  bool any_changed = false;
  for (const Node& node : nodes) {
    const std::string& name = node.metadata().name();
    present.insert(name);
    std::string fingerprint = Fingerprint(node);
    auto it = node_fingerprints_.find(name);
    if (it != node_fingerprints_.end() && it->second == fingerprint) continue;
    if (it == node_fingerprints_.end()) dirty_nodes_.insert(name);  // a new (empty) config
    node_fingerprints_[name] = std::move(fingerprint);
    Node& kept = nodes_[name];
    kept.mutable_metadata()->set_name(name);
    *kept.mutable_status()->mutable_addresses() = node.status().addresses();
    *kept.mutable_status()->mutable_route_sources() = node.status().route_sources();
    *kept.mutable_metadata()->mutable_labels() = node.metadata().labels();
    any_changed = true;
    node_ptrs_[name] = &kept;
    if (auto n = forwards_naming_.find(name); n != forwards_naming_.end()) {
      dirty_forwards_.insert(n->second.begin(), n->second.end());
    }
  }
  for (auto it = node_fingerprints_.begin(); it != node_fingerprints_.end();) {
    if (present.count(it->first) != 0) {
      ++it;
      continue;
    }
    const std::string name = it->first;
    any_changed = true;
    it = node_fingerprints_.erase(it);
    node_ptrs_.erase(name);
    nodes_.erase(name);
    dirty_nodes_.insert(name);  // SealNodes drops its plan
    if (auto n = forwards_naming_.find(name); n != forwards_naming_.end()) {
      dirty_forwards_.insert(n->second.begin(), n->second.end());
    }
  }
  // Any node's labels or addresses may change what a selector selects.
  if (any_changed) dirty_forwards_.insert(selector_forwards_.begin(), selector_forwards_.end());
}

void IncrementalPlanner::IndexNodeNames(const std::string& name, const PlanForward& forward,
                                        bool add) {
  if (forward.spec.frontend().has_node_selector()) {
    if (add) {
      selector_forwards_.insert(name);
    } else {
      selector_forwards_.erase(name);
    }
  }
  for (const std::string* node :
       {&forward.spec.frontend().node_name(), &forward.spec.backend().node_name()}) {
    if (node->empty()) continue;  // a backend outside the fleet names no node
    if (add) {
      forwards_naming_[*node].insert(name);
    } else if (auto it = forwards_naming_.find(*node); it != forwards_naming_.end()) {
      it->second.erase(name);
      if (it->second.empty()) forwards_naming_.erase(it);
    }
  }
}

void IncrementalPlanner::SetForward(const IPForward& forward) {
  SetForward(PlanForward::Of(forward));
}

void IncrementalPlanner::SetForward(std::shared_ptr<const PlanForward> forward) {
  const std::string& name = forward->name;
  Forward& kept = forwards_[name];
  if (kept.spec != nullptr) {
    if (kept.spec->SameInputs(*forward)) return;
    IndexNodeNames(name, *kept.spec, false);
    // Its holders follow from the spec it was resolved with, which is
    // about to go: noted until the next Plan.
    if (!held_before_.contains(name)) held_before_.emplace(name, HoldersOf(kept));
    if (!Staged(forward->spec)) {
      if (kept.rollout != nullptr) kept.rollout->ending = true;
    } else if (forward->generation > kept.spec->generation) {
      // A new change rolls out from the last generation every node
      // applied: the old one, unless that was still rolling out (or stopped).
      if (!Rolling(kept)) {
        const std::set<std::string>& holders = held_before_.at(name);
        kept.rollout = std::make_unique<Rollout>();
        kept.rollout->stable = kept.spec;
        kept.rollout->placed.assign(holders.begin(), holders.end());
        rolling_.insert(name);
      }
      kept.rollout->released.clear();
      kept.rollout->stopped.reset();
      kept.rollout->applied_at.clear();
      kept.rollout->rolled_back = false;
    }
  }
  kept.spec = std::move(forward);
  IndexNodeNames(name, *kept.spec, true);
  dirty_forwards_.insert(name);
}

void IncrementalPlanner::RemoveForward(const std::string& name) {
  auto it = forwards_.find(name);
  if (it == forwards_.end()) return;
  IndexNodeNames(name, *it->second.spec, false);
  DropPieces(name, HoldersNow(name, it->second));
  held_before_.erase(name);
  if (it->second.in_conflict) --conflicted_;
  rolling_.erase(name);
  forwards_.erase(it);
  dirty_forwards_.insert(name);
}

std::vector<std::string> IncrementalPlanner::RolloutNodes(const Forward& forward) {
  std::set<std::string> nodes;
  for (const FrontendEnd& end : FrontendsOf(*forward.spec, forward.resolution)) {
    nodes.insert(end.node);
  }
  const Rollout& r = *forward.rollout;
  for (const FrontendEnd& end : FrontendsOf(*r.stable, r.stable_resolution)) nodes.insert(end.node);
  return std::vector<std::string>(nodes.begin(), nodes.end());
}

std::shared_ptr<const RolloutView> IncrementalPlanner::ViewOf(const Forward& forward) {
  if (!Rolling(forward)) return nullptr;
  const Rollout& rollout = *forward.rollout;
  auto view = std::make_shared<RolloutView>();
  view->stable_generation = rollout.stable->generation;
  for (const auto& [node, at] : rollout.released) view->released.push_back(node);
  view->nodes = RolloutNodes(forward).size();
  if (rollout.stopped.has_value()) {
    view->stopped_node = rollout.stopped->first;
    view->stopped_reason = rollout.stopped->second;
  }
  view->rolled_back = rollout.rolled_back;
  return view;
}

std::set<std::string> IncrementalPlanner::HoldersOf(const Forward& forward) {
  std::set<std::string> nodes;
  for (const InvolvedNode& n : NodesOf(*forward.spec, forward.resolution)) nodes.insert(n.name);
  for (const std::string& n : forward.resolution.route_query_nodes()) nodes.insert(n);
  if (forward.rollout != nullptr) {
    nodes.insert(forward.rollout->placed.begin(), forward.rollout->placed.end());
  }
  return nodes;
}

void IncrementalPlanner::Resolve(Forward& forward) {
  forward.resolution = ResolveForward(*forward.spec, node_ptrs_);
  if (Rolling(forward)) {
    forward.rollout->stable_resolution = ResolveForward(*forward.rollout->stable, node_ptrs_);
    if (std::shared_ptr<const RolloutView> view = ViewOf(forward)) {
      forward.resolution.MutableExtra().rollout = std::move(view);
    }
  }
}

IncrementalPlanner::RolloutStep IncrementalPlanner::AdvanceRollouts(absl::Time now,
                                                                    const ProgressFn& progress) {
  RolloutStep step;
  auto wake_at = [&step](absl::Time due) {
    if (!step.next_deadline || due < *step.next_deadline) step.next_deadline = due;
  };
  for (const std::string& name : rolling_) {
    Forward& f = forwards_.at(name);
    if (!Rolling(f) || f.rollout->stopped.has_value()) continue;
    Rollout& r = *f.rollout;
    const ferry::v1::IPForwardSpec& spec = f.spec->spec;
    const int64_t generation = f.spec->generation;
    const absl::Duration deadline = absl::Seconds(spec.rollout().progress_deadline_seconds() == 0
                                                      ? 30
                                                      : spec.rollout().progress_deadline_seconds());
    const bool confirm = api::RollsBackOnProbeFailure(spec);
    const std::vector<std::string> nodes = RolloutNodes(f);
    std::vector<InvolvedNode> asked;
    for (const std::string& node : nodes) asked.push_back({node, kRoleFrontend});
    const std::map<std::string, NodeAckInfo> acks = progress(*f.spec, asked);
    std::set<std::string> target_nodes;
    for (const FrontendEnd& end : FrontendsOf(*f.spec, f.resolution)) {
      target_nodes.insert(end.node);
    }
    size_t changing = 0;
    bool all_done = f.resolution.accepted;
    for (const std::string& node : nodes) {
      auto a = acks.find(node);
      const NodeAckInfo none;
      const NodeAckInfo& ack = a == acks.end() ? none : a->second;
      const bool target = target_nodes.contains(node);
      // Applied: holds the new generation, or (deselected) nothing at all.
      const bool applied =
          target ? ack.acked_generation == generation : !ack.acked_generation.has_value();
      // Commit-confirmed: applied is done once the node's probe of this
      // generation passed, or could not tell (UDP). An agent that does not
      // probe cannot confirm, so its ACK has to do.
      const bool confirming = confirm && target && applied && ack.probes;
      const DataPathVerdict* probe =
          confirming && ack.data_path.has_value() && ack.data_path->generation == generation
              ? &*ack.data_path
              : nullptr;
      const bool done =
          applied &&
          (!confirming || (probe != nullptr && probe->status != DataPathVerdict::Status::kFalse));
      if (!done) all_done = false;
      auto released = r.released.find(node);
      if (released == r.released.end() || done) continue;
      std::optional<std::string> stop;
      absl::Time due = released->second + deadline;
      if (ack.nacked) {
        stop = absl::StrCat("node ", node, " rejected generation ", generation, ": ", ack.error);
      } else if (confirming) {
        const absl::Duration confirm_deadline = api::ProbeConfirmDeadline(spec);
        due = r.applied_at.try_emplace(node, now).first->second + confirm_deadline;
        if (probe != nullptr) {
          stop = absl::StrCat("node ", node, ": ", probe->message);
        } else if (now >= due) {
          stop = absl::StrCat("node ", node, ": the probe of generation ", generation,
                              " did not pass within ", absl::FormatDuration(confirm_deadline));
          if (ack.data_path.has_value() && !ack.data_path->message.empty()) {
            absl::StrAppend(&*stop, " (last: ", ack.data_path->message, ")");
          }
        }
      } else if (now >= due) {
        stop = absl::StrCat("node ", node, " did not apply generation ", generation, " within ",
                            absl::FormatDuration(deadline));
      }
      if (stop.has_value()) {
        r.stopped.emplace(node, std::move(*stop));
        break;
      }
      ++changing;
      wake_at(due);
    }
    if (r.stopped.has_value()) {
      if (confirm) {
        // Commit-confirmed: every node goes back to the last generation
        // whose probe passed, however many took the new one.
        r.released.clear();
        r.rolled_back = true;
        step.rolled_back.emplace_back(
            name, absl::StrCat("generation ", generation, " rolled back to generation ",
                               r.stable->generation, ": ", r.stopped->second));
      } else {
        // The node that stopped it is planned back to the stable
        // generation, which its agent kept (a NACKed push changes nothing).
        r.released.erase(r.stopped->first);
      }
      dirty_forwards_.insert(name);
      step.changed = true;
      continue;
    }
    if (all_done) {  // every node holds the new generation: it is the stable one now
      r.ending = true;
      dirty_forwards_.insert(name);
      step.changed = true;
      continue;
    }
    if (!f.resolution.accepted) continue;  // nothing to roll out until it is
    // Without spec.rollout (a commit-confirmed change), every node at once.
    size_t budget = nodes.size();
    if (spec.has_rollout()) {
      const absl::StatusOr<api::MaxUnavailable> max =
          api::ParseMaxUnavailable(spec.rollout().max_unavailable());
      budget = max.ok() ? max->Of(nodes.size()) : 1;
    }
    for (const std::string& node : nodes) {
      if (changing >= budget) break;
      if (r.released.contains(node)) continue;
      r.released.emplace(node, now);
      ++changing;
      dirty_forwards_.insert(name);
      step.changed = true;
      wake_at(now + deadline);
    }
  }
  return step;
}

std::map<std::string, NodePlan::PiecePtr> IncrementalPlanner::PiecesOf(const Forward& forward) {
  std::map<std::string, NodeConfig> entries;
  if (Rolling(forward)) {
    // A released node takes the new generation; the others keep the
    // stable one's entries (a node new to the forward has none yet).
    const Rollout& r = *forward.rollout;
    if (forward.resolution.accepted) {
      for (const FrontendEnd& end : FrontendsOf(*forward.spec, forward.resolution)) {
        if (r.released.contains(end.node)) {
          AddFrontendEndEntries(*forward.spec, end, &entries);
        }
      }
    }
    if (r.stable_resolution.accepted) {
      for (const FrontendEnd& end : FrontendsOf(*r.stable, r.stable_resolution)) {
        if (!r.released.contains(end.node)) {
          AddFrontendEndEntries(*r.stable, end, &entries);
        }
      }
    }
  } else if (forward.resolution.accepted) {
    AddForwardEntries(*forward.spec, forward.resolution, &entries);
  }
  for (const std::string& node : forward.resolution.route_query_nodes()) {
    AddRouteQuery(*forward.spec, &entries[node]);
  }
  std::map<std::string, NodePlan::PiecePtr> out;
  for (auto& [node, e] : entries) out[node] = NodePlan::MakePiece(std::move(e));
  return out;
}

void IncrementalPlanner::RemoveForwardsExcept(const std::function<bool(const std::string&)>& keep) {
  std::vector<std::string> gone;
  for (const auto& [name, f] : forwards_) {
    if (!keep(name)) gone.push_back(name);
  }
  for (const std::string& name : gone) RemoveForward(name);
}

std::set<std::string> IncrementalPlanner::HoldersNow(const std::string& name,
                                                     const Forward& forward) const {
  auto it = held_before_.find(name);
  return it == held_before_.end() ? HoldersOf(forward) : it->second;
}

void IncrementalPlanner::DropPieces(const std::string& name, const std::set<std::string>& holders) {
  for (const std::string& node : holders) {
    if (auto it = plans_.find(node); it != plans_.end() && it->second.Put(name, nullptr)) {
      dirty_nodes_.insert(node);
    }
  }
}

void IncrementalPlanner::PlacePieces(const std::string& name, Forward& forward,
                                     const std::set<std::string>& before) {
  std::map<std::string, NodePlan::PiecePtr> pieces = PiecesOf(forward);
  if (forward.resolution.accepted) {
    index_.Add(forward.spec.get());
    indexed_.push_back(forward.spec);
  }
  if (forward.rollout != nullptr) SettleRollout(name, forward, pieces);
  for (const std::string& node : before) pieces.try_emplace(node, nullptr);
  for (auto& [node, piece] : pieces) {
    // Resolved nodes are registered; a node that was may be gone.
    auto it = plans_.find(node);
    if (it == plans_.end() && piece != nullptr) it = plans_.try_emplace(node).first;
    if (it != plans_.end() && it->second.Put(name, std::move(piece))) dirty_nodes_.insert(node);
  }
}

void IncrementalPlanner::SettleRollout(const std::string& name, Forward& forward,
                                       const std::map<std::string, NodePlan::PiecePtr>& pieces) {
  if (forward.rollout->ending) {
    forward.rollout.reset();
    rolling_.erase(name);
    return;
  }
  forward.rollout->placed.clear();
  for (const auto& [node, piece] : pieces) forward.rollout->placed.push_back(node);
}

void IncrementalPlanner::RebuildIndex() {
  index_ = ConflictIndex();
  indexed_.clear();
  for (const auto& [name, f] : forwards_) {
    if (!f.resolution.accepted) continue;
    index_.Add(f.spec.get());
    indexed_.push_back(f.spec);
  }
}

void IncrementalPlanner::PlanAll(Update* update) {
  *update = Update();
  update->full = true;
  index_ = ConflictIndex();
  indexed_.clear();
  conflicted_ = 0;
  for (const auto& [name, node] : nodes_) dirty_nodes_.insert(name);
  for (const auto& [name, plan] : plans_) dirty_nodes_.insert(name);
  // Name order, as PlanFleet: the earlier name wins a conflict. Each node's
  // plan keeps the pieces that came out the same, so the deltas of the
  // next pushes name only real changes.
  std::map<std::string, std::map<std::string, NodePlan::PiecePtr>> next;  // node -> forward
  for (auto& [name, f] : forwards_) {
    Resolve(f);
    f.in_conflict = false;
    if (f.resolution.accepted) {
      if (absl::Status s = index_.Check(*f.spec); !s.ok()) {
        f.resolution = RejectForConflict(s);
        f.in_conflict = true;
        ++conflicted_;
      }
    }
    if (f.resolution.accepted) {
      index_.Add(f.spec.get());
      indexed_.push_back(f.spec);
    }
    std::map<std::string, NodePlan::PiecePtr> pieces = PiecesOf(f);
    if (f.rollout != nullptr) SettleRollout(name, f, pieces);
    for (auto& [node, piece] : pieces) next[node][name] = std::move(piece);
    update->forwards.push_back(name);
  }
  for (const auto& [node, unused] : nodes_) plans_.try_emplace(node);
  for (auto& [node, plan] : plans_) {
    std::map<std::string, NodePlan::PiecePtr>& pieces = next[node];
    std::vector<std::string> gone;
    for (const auto& [name, piece] : plan.pieces()) {
      if (pieces.count(name) == 0) gone.push_back(name);
    }
    for (const std::string& name : gone) plan.Put(name, nullptr);
    for (auto& [name, piece] : pieces) plan.Put(name, std::move(piece));
  }
}

bool IncrementalPlanner::PlanDirty(Update* update) {
  for (const std::string& name : dirty_forwards_) {
    auto it = forwards_.find(name);
    if (it == forwards_.end()) continue;  // removed: its pieces are gone
    Forward& f = it->second;
    const std::set<std::string> before = HoldersNow(name, f);
    Resolve(f);
    if (f.resolution.accepted && !index_.Check(*f.spec).ok()) {
      // Maybe only a superseded entry: ask an index of what is accepted now.
      RebuildIndex();
      if (!index_.Check(*f.spec).ok()) return false;
    }
    PlacePieces(name, f, before);
    update->forwards.push_back(name);
  }
  // Superseded entries only cost memory and false hits; drop them now and
  // then, so the index stays O(N).
  if (indexed_.size() > 2 * forwards_.size() + 1024) RebuildIndex();
  return true;
}

void IncrementalPlanner::SealNodes(Update* update) {
  for (const std::string& node : dirty_nodes_) {
    if (nodes_.count(node) == 0) {
      plans_.erase(node);
      continue;
    }
    plans_[node].Seal();
    update->nodes.push_back(node);
  }
}

IncrementalPlanner::Update IncrementalPlanner::Plan() {
  Update update;
  // While a forward is rejected as a Conflict, any change may decide
  // another winner; only the ordered full pass knows.
  bool full = full_ || (conflicted_ > 0 && !dirty_forwards_.empty());
  if (full || !PlanDirty(&update)) PlanAll(&update);
  SealNodes(&update);
  dirty_forwards_.clear();
  dirty_nodes_.clear();
  held_before_.clear();
  full_ = false;
  return update;
}

const ForwardResolution* IncrementalPlanner::Resolution(const std::string& name) const {
  auto it = forwards_.find(name);
  return it == forwards_.end() ? nullptr : &it->second.resolution;
}

std::shared_ptr<const NodeConfig> IncrementalPlanner::Config(const std::string& node) const {
  const NodePlan* plan = ForNode(node);
  return plan == nullptr ? nullptr : plan->Materialize();
}

const NodePlan* IncrementalPlanner::ForNode(const std::string& node) const {
  auto it = plans_.find(node);
  return it == plans_.end() ? nullptr : &it->second;
}

NodePlan* IncrementalPlanner::ForNode(const std::string& node) {
  auto it = plans_.find(node);
  return it == plans_.end() ? nullptr : &it->second;
}

}  // namespace ferry::controller
