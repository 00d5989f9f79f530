#ifndef FERRY_CONTROLLER_FLEET_NODE_GENERATIONS_H_
#define FERRY_CONTROLLER_FLEET_NODE_GENERATIONS_H_

// Which generation of each forward, per role, the config last pushed to a
// node carries, and which the config it last ACKed carries: what a
// forward's status needs from a node. One table per node, changed in place
// by what a push or an ACK changed, so a delta push and its ACK cost
// O(changed forwards), not a rebuild of a 100k-forward index per config;
// a lookup is O(1). Not thread-safe (PushTracker locks it).

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "controller/planner/node_plan.h"

namespace ferry::controller {

class NodeGenerations {
 public:
  // The plan's whole config was pushed: every forward's pushed generations
  // become its piece's.
  void PushFull(const NodePlan& plan);
  // The plan's delta since its last mark was pushed: the forwards it names
  // take their pieces'.
  void PushDelta(const NodePlan& plan);
  // The last push was ACKed: its generations become the ACKed ones. Adds
  // the forwards whose ACKed generation changed to `changed`.
  void Ack(std::set<std::string>* changed);
  // What the node holds is unknown: nothing counts as ACKed. Adds the
  // forwards that had an ACKed generation to `changed`.
  void ForgetAcked(std::set<std::string>* changed);

  // The forward's generation in the last pushed / ACKed config, among the
  // entries `role` installs (kRoleFrontend: DNAT rules, else return
  // routes); none if absent.
  std::optional<int64_t> Pushed(const std::string& forward, const std::string& role) const;
  std::optional<int64_t> Acked(const std::string& forward, const std::string& role) const;
  // Forwards whose pushed and ACKed generations differ (in either role):
  // those a NACK of the last push blames.
  const std::set<std::string>& unacked() const { return unacked_; }
  size_t size() const { return gens_.size(); }

 private:
  static constexpr int64_t kNone = INT64_MIN;
  struct Gens {
    int64_t pushed[2] = {kNone, kNone};  // [frontend, backend]
    int64_t acked[2] = {kNone, kNone};
    bool Settled() const { return pushed[0] == acked[0] && pushed[1] == acked[1]; }
    bool Empty() const { return Settled() && pushed[0] == kNone && pushed[1] == kNone; }
  };
  static std::optional<int64_t> Get(int64_t g) {
    return g == kNone ? std::nullopt : std::optional<int64_t>(g);
  }
  // Sets the pushed generations of the roles the forward's piece holds
  // entries of.
  void SetPushed(const std::string& name, const NodePlan::Piece& piece);
  // Keeps unacked_ and the table's emptiness right after `name` changed.
  void Settle(const std::string& name);

  absl::flat_hash_map<std::string, Gens> gens_;
  std::set<std::string> unacked_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_NODE_GENERATIONS_H_
