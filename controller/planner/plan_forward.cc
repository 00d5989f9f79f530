#include "controller/planner/plan_forward.h"

#include <utility>

#include "api/lib/objects.h"

namespace ferry::controller {

std::shared_ptr<const PlanForward> PlanForward::Of(const ferry::v1::IPForward& forward) {
  auto out = std::make_shared<PlanForward>();
  out->name = forward.metadata().name();
  out->generation = forward.metadata().generation();
  out->spec = forward.spec();
  return out;
}

std::shared_ptr<const PlanForward> PlanForward::Take(ferry::v1::IPForward* forward) {
  auto out = std::make_shared<PlanForward>();
  out->name.swap(*forward->mutable_metadata()->mutable_name());
  out->generation = forward->metadata().generation();
  // Swapped, not copied: the spec's parts stay where the request decoded
  // them, and only the 72-byte top level is new.
  out->spec.Swap(forward->mutable_spec());
  return out;
}

bool PlanForward::SameInputs(const PlanForward& other) const {
  return generation == other.generation && api::SameSpec(spec, other.spec);
}

}  // namespace ferry::controller
