#ifndef FERRY_CONTROLLER_FLEET_CONFIG_GENERATIONS_H_
#define FERRY_CONTROLLER_FLEET_CONFIG_GENERATIONS_H_

// Which generation of each forward a node config carries, per role: what a
// forward's status needs from the configs a node was pushed and ACKed. The
// lookup is O(log n) instead of a scan of the config's entries, which made
// the statuses of a 100k-forward node quadratic.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class ConfigGenerations {
 public:
  ConfigGenerations() = default;
  // `config`'s entries must be sorted by forward, as the planner sorts them.
  explicit ConfigGenerations(const ferry::v1::NodeConfig& config);

  // The forward's generation among the entries `role` installs, if present.
  std::optional<int64_t> Find(const std::string& forward, const std::string& role) const;

  // Adds to `out` every forward whose generation differs between `a` and
  // `b` in either role, present in one and not the other included. Null
  // stands for an empty config.
  static void Diff(const ConfigGenerations* a, const ConfigGenerations* b,
                   std::set<std::string>* out);

 private:
  using List = std::vector<std::pair<std::string, int64_t>>;  // sorted by name
  static std::optional<int64_t> FindIn(const List& list, const std::string& forward);
  static void DiffLists(const List& a, const List& b, std::set<std::string>* out);

  List frontend_;  // from the DNAT rules
  List backend_;   // from the return routes
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_CONFIG_GENERATIONS_H_
