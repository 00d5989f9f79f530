#ifndef FERRY_CONTROLLER_PLANNER_CONFLICTS_H_
#define FERRY_CONTROLLER_PLANNER_CONFLICTS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// Two forwards conflict if they claim the same frontend node, address,
// protocol and an overlapping port, or if they send the same backend
// address/protocol/port through one frontend node with different sourceIP
// modes (the masquerade set is keyed on the backend tuple). Returns
// ALREADY_EXISTS naming both forwards and the field, e.g.
//   "spec.ports[0]: TCP 192.0.2.1:80 on node node-a is already claimed by ipforward/web"
// Forwards with the candidate's name are ignored (an update of itself).
absl::Status CheckConflicts(const ferry::v1::IPForward& candidate,
                            const std::vector<ferry::v1::IPForward>& existing);

// The claims of a set of forwards keyed by name, indexed so that a check
// costs O(log N) per port mapping instead of O(N): planning N forwards is
// not quadratic, and the write path can keep one index of every stored
// forward across requests, replacing and removing forwards as they change.
// Check returns exactly what CheckConflicts(candidate, every held forward in
// name order) returns, so the message names the same forward whichever
// order they were added in.
class ConflictIndex {
 public:
  ConflictIndex() = default;
  ConflictIndex(const ConflictIndex&) = delete;
  ConflictIndex& operator=(const ConflictIndex&) = delete;
  ConflictIndex(ConflictIndex&&) = default;
  ConflictIndex& operator=(ConflictIndex&&) = default;

  // Holds a copy of the forward's name and spec (nothing else is needed to
  // check), replacing the forward of that name if there is one.
  void Put(const ferry::v1::IPForward& forward);
  // Holds `forward` itself, without a copy: for a caller that keeps the
  // forwards alive longer than the index (the planner's pass). Replaces the
  // forward of that name if there is one.
  void Add(const ferry::v1::IPForward* forward);
  // Returns false if no forward of that name is held.
  bool Remove(const std::string& name);
  // The held forward of that name (name and spec at least), or null.
  const ferry::v1::IPForward* Find(const std::string& name) const;
  size_t size() const { return forwards_.size(); }

  absl::Status Check(const ferry::v1::IPForward& candidate) const;

 private:
  // (node, canonical address, protocol[, masquerade]) -> port ranges.
  using Key = std::tuple<std::string, std::string, int, int>;
  struct Bucket {
    // first port -> (last port, the forward's name: the key in forwards_,
    // stable while it is held); ranges may overlap.
    std::multimap<uint32_t, std::pair<uint32_t, const std::string*>> ranges;
    // Largest last - first ever inserted, bounds the backward scan. It
    // only grows until the bucket empties: a removal leaves a scan that is
    // at most 1024 ports (the widest mapping validation admits) too wide.
    uint32_t widest = 0;
  };
  struct Held {
    const ferry::v1::IPForward* forward = nullptr;  // owned.get() or the caller's
    std::unique_ptr<ferry::v1::IPForward> owned;
  };

  void Hold(const std::string& name, Held held);
  // Calls fn(buckets, key, first, last) for every frontend and backend port
  // range `spec` claims: the one definition of what a forward holds.
  void ForEachClaim(
      const ferry::v1::IPForwardSpec& spec,
      const std::function<void(std::map<Key, Bucket>*, const Key&, uint32_t, uint32_t)>& fn);
  void Index(const std::string* name, const ferry::v1::IPForwardSpec& spec);
  void Unindex(const std::string* name, const ferry::v1::IPForwardSpec& spec);
  static void Insert(Bucket* bucket, uint32_t first, uint32_t last, const std::string* name);
  static void Erase(std::map<Key, Bucket>* buckets, const Key& key, uint32_t first, uint32_t last,
                    const std::string* name);
  static void Collect(const Bucket& bucket, uint32_t first, uint32_t last,
                      std::vector<const std::string*>* out);

  std::map<std::string, Held> forwards_;
  std::map<Key, Bucket> frontends_;  // key: frontend node, address, protocol
  std::map<Key, Bucket> backends_;   // key: frontend node, backend address, protocol, masq
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PLANNER_CONFLICTS_H_
