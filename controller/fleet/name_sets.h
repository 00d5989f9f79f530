#ifndef FERRY_CONTROLLER_FLEET_NAME_SETS_H_
#define FERRY_CONTROLLER_FLEET_NAME_SETS_H_

#include <set>
#include <string>
#include <utility>

namespace ferry::controller {

// Moves `from` into `into`: the smaller set's nodes into the larger, so
// that 100k names an ACK marks cost a swap, not 100k re-insertions.
inline void MergeNames(std::set<std::string>* into, std::set<std::string>&& from) {
  if (into->size() < from.size()) into->swap(from);
  into->merge(from);
}

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_NAME_SETS_H_
