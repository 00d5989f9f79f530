#ifndef FERRY_CONTROLLER_PLANNER_PLAN_FORWARD_H_
#define FERRY_CONTROLLER_PLANNER_PLAN_FORWARD_H_

// What planning and status read of a forward: its name, generation and
// spec. The fleet holds one per stored forward (the snapshot and the
// planner share it), so it is a plain struct, not an IPForward: the
// message's ObjectMeta alone (a map field, a timestamp, four strings) was
// 184 bytes, and with the Object around it ~280 bytes and three
// allocations more per forward, a tenth of the controller at 100k.

#include <cstdint>
#include <memory>
#include <string>

#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

struct PlanForward {
  std::string name;
  int64_t generation = 0;
  ferry::v1::IPForwardSpec spec;

  // A copy of `forward`'s name, generation and spec.
  static std::shared_ptr<const PlanForward> Of(const ferry::v1::IPForward& forward);
  // The same moved out of `forward`, which is left without name and spec.
  static std::shared_ptr<const PlanForward> Take(ferry::v1::IPForward* forward);
  // The same generation and spec (the name is the caller's key).
  bool SameInputs(const PlanForward& other) const;
};

// A forward as planning code reads it, borrowed from an IPForward message
// or a PlanForward, so that the planner's functions serve both the fleet's
// held forwards and whole messages (PlanFleet, the write path, tests).
class ForwardRef {
 public:
  // Implicit: a caller holding either passes it as it is.
  ForwardRef(const ferry::v1::IPForward& forward)  // NOLINT(runtime/explicit)
      : name_(&forward.metadata().name()),
        generation_(forward.metadata().generation()),
        spec_(&forward.spec()) {}
  ForwardRef(const PlanForward& forward)  // NOLINT(runtime/explicit)
      : name_(&forward.name), generation_(forward.generation), spec_(&forward.spec) {}

  const std::string& name() const { return *name_; }
  int64_t generation() const { return generation_; }
  const ferry::v1::IPForwardSpec& spec() const { return *spec_; }

 private:
  const std::string* name_;
  int64_t generation_;
  const ferry::v1::IPForwardSpec* spec_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PLANNER_PLAN_FORWARD_H_
