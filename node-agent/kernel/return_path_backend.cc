#include "node-agent/kernel/return_path_backend.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace ferry::agent {

absl::StatusOr<RouteState> ReturnPathBackend::Load() {
  absl::StatusOr<RouteState> state = routes_->Load();
  if (!state.ok()) return state.status();
  absl::StatusOr<MarkState> marks = marks_->Load();
  if (!marks.ok()) {
    return absl::Status(marks.status().code(), absl::StrCat("reading table inet ferry_return: ",
                                                            marks.status().message()));
  }
  state->marks = std::move(marks->marks);
  state->marks_drift = std::move(marks->structure_drift);
  return state;
}

absl::Status ReturnPathBackend::Apply(const RoutePlan& plan) {
  if (plan.marks.has_value()) {
    if (absl::Status s = marks_->Apply(*plan.marks); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("writing table inet ferry_return: ", s.message()));
    }
  }
  return routes_->Apply(plan);
}

}  // namespace ferry::agent
