#include "controller/fleet/config_generations.h"

#include <algorithm>

#include "controller/planner/planner.h"

namespace ferry::controller {
namespace {

template <typename Entries>
void Collect(const Entries& entries, std::vector<std::pair<std::string, int64_t>>* out) {
  for (const auto& e : entries) {
    if (!out->empty() && out->back().first == e.forward()) continue;
    out->emplace_back(e.forward(), e.generation());
  }
  // Sorted already when the planner made the config; cheap to make sure.
  if (!std::is_sorted(out->begin(), out->end())) {
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end(),
                           [](const auto& a, const auto& b) { return a.first == b.first; }),
               out->end());
  }
}

}  // namespace

ConfigGenerations::ConfigGenerations(const ferry::v1::NodeConfig& config) {
  Collect(config.dnat(), &frontend_);
  Collect(config.return_routes(), &backend_);
}

std::optional<int64_t> ConfigGenerations::FindIn(const List& list, const std::string& forward) {
  auto it = std::lower_bound(
      list.begin(), list.end(), forward,
      [](const auto& entry, const std::string& name) { return entry.first < name; });
  if (it == list.end() || it->first != forward) return std::nullopt;
  return it->second;
}

std::optional<int64_t> ConfigGenerations::Find(const std::string& forward,
                                               const std::string& role) const {
  return FindIn(role == kRoleFrontend ? frontend_ : backend_, forward);
}

void ConfigGenerations::DiffLists(const List& a, const List& b, std::set<std::string>* out) {
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() || j != b.end()) {
    if (j == b.end() || (i != a.end() && i->first < j->first)) {
      out->insert(i++->first);
    } else if (i == a.end() || j->first < i->first) {
      out->insert(j++->first);
    } else {
      if (i->second != j->second) out->insert(i->first);
      ++i;
      ++j;
    }
  }
}

void ConfigGenerations::Diff(const ConfigGenerations* a, const ConfigGenerations* b,
                             std::set<std::string>* out) {
  static const ConfigGenerations kEmpty;
  if (a == b) return;
  const ConfigGenerations& x = a != nullptr ? *a : kEmpty;
  const ConfigGenerations& y = b != nullptr ? *b : kEmpty;
  DiffLists(x.frontend_, y.frontend_, out);
  DiffLists(x.backend_, y.backend_, out);
}

}  // namespace ferry::controller
