#ifndef FERRY_CONTROLLER_PLANNER_CONFLICTS_H_
#define FERRY_CONTROLLER_PLANNER_CONFLICTS_H_

#include <cstdint>
#include <map>
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

// CheckConflicts against a growing set of forwards in O(log N) per port
// mapping instead of O(N), so planning N forwards is not quadratic. Check
// returns exactly what CheckConflicts(candidate, added forwards in the
// order added) returns.
class ConflictIndex {
 public:
  // `forward` must outlive the index.
  void Add(const ferry::v1::IPForward* forward);
  absl::Status Check(const ferry::v1::IPForward& candidate) const;

 private:
  // (node, canonical address, protocol[, masquerade]) -> port ranges.
  using Key = std::tuple<std::string, std::string, int, int>;
  struct Bucket {
    // first port -> (last port, position in added_); ranges may overlap.
    std::multimap<uint32_t, std::pair<uint32_t, size_t>> ranges;
    uint32_t widest = 0;  // largest last - first, bounds the backward scan
  };
  static void Insert(Bucket* bucket, uint32_t first, uint32_t last, size_t position);
  static void Collect(const Bucket& bucket, uint32_t first, uint32_t last,
                      std::vector<size_t>* out);

  std::vector<const ferry::v1::IPForward*> added_;
  std::map<Key, Bucket> frontends_;  // key: frontend node, address, protocol
  std::map<Key, Bucket> backends_;   // key: frontend node, backend address, protocol, masq
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PLANNER_CONFLICTS_H_
