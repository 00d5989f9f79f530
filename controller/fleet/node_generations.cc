#include "controller/fleet/node_generations.h"

#include <vector>

#include "controller/fleet/name_sets.h"
#include "controller/planner/planner.h"

namespace ferry::controller {
namespace {

int RoleIndex(const std::string& role) { return role == kRoleFrontend ? 0 : 1; }

}  // namespace

void NodeGenerations::SetPushed(const std::string& name, const NodePlan::Piece& piece) {
  if (piece.dnat_count == 0 && piece.route_count == 0) return;
  Gens& g = gens_[name];
  if (piece.dnat_count > 0) g.pushed[0] = piece.generation;
  if (piece.route_count > 0) g.pushed[1] = piece.generation;
}

void NodeGenerations::Settle(const std::string& name) {
  auto it = gens_.find(name);
  if (it == gens_.end() || it->second.Settled()) {
    unacked_.erase(name);
    if (it != gens_.end() && it->second.Empty()) gens_.erase(it);
  } else {
    unacked_.insert(name);
  }
}

void NodeGenerations::PushFull(const NodePlan& plan) {
  for (auto& [name, g] : gens_) g.pushed[0] = g.pushed[1] = kNone;
  for (const auto& [name, piece] : plan.pieces()) SetPushed(name, *piece);
  unacked_.clear();
  std::vector<std::string> empty;
  for (const auto& [name, g] : gens_) {
    if (g.Empty()) {
      empty.push_back(name);
    } else if (!g.Settled()) {
      unacked_.insert(name);
    }
  }
  for (const std::string& name : empty) gens_.erase(name);
}

void NodeGenerations::PushDelta(const NodePlan& plan) {
  plan.ForEachChangedSinceMark([&](const std::string& name, const NodePlan::Piece* piece) {
    if (auto it = gens_.find(name); it != gens_.end()) {
      it->second.pushed[0] = it->second.pushed[1] = kNone;
    }
    if (piece != nullptr) SetPushed(name, *piece);
    Settle(name);
  });
}

void NodeGenerations::Ack(std::set<std::string>* changed) {
  for (const std::string& name : unacked_) {
    auto it = gens_.find(name);
    if (it == gens_.end()) continue;
    Gens& g = it->second;
    g.acked[0] = g.pushed[0];
    g.acked[1] = g.pushed[1];
    if (g.Empty()) gens_.erase(it);
  }
  // Moved, not copied: after a full push's ACK that is 100k names. (Every
  // unACKed name is in the table: Settle and PushFull keep it so.)
  MergeNames(changed, std::move(unacked_));
  unacked_.clear();
}

void NodeGenerations::ForgetAcked(std::set<std::string>* changed) {
  std::vector<std::string> empty;
  for (auto& [name, g] : gens_) {
    if (g.acked[0] == kNone && g.acked[1] == kNone) continue;
    changed->insert(name);
    g.acked[0] = g.acked[1] = kNone;
    if (g.Empty()) {
      empty.push_back(name);
    } else {
      unacked_.insert(name);
    }
  }
  for (const std::string& name : empty) gens_.erase(name);
}

std::optional<int64_t> NodeGenerations::Pushed(const std::string& forward,
                                               const std::string& role) const {
  auto it = gens_.find(forward);
  return it == gens_.end() ? std::nullopt : Get(it->second.pushed[RoleIndex(role)]);
}

std::optional<int64_t> NodeGenerations::Acked(const std::string& forward,
                                              const std::string& role) const {
  auto it = gens_.find(forward);
  return it == gens_.end() ? std::nullopt : Get(it->second.acked[RoleIndex(role)]);
}

}  // namespace ferry::controller
