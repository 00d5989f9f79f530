#ifndef FERRY_NODE_AGENT_KERNEL_RETURN_PATH_BACKEND_H_
#define FERRY_NODE_AGENT_KERNEL_RETURN_PATH_BACKEND_H_

// A backend's return paths live in two kernel subsystems: the policy rules
// and routing tables (rtnetlink) and the marks those rules match (table
// inet ferry_return, nf_tables). The reconciler treats them as one state,
// so that a push, its rollback and a drift repair keep the marks and the
// rules that need them together.

#include <memory>

#include "node-agent/kernel/mark_backend.h"
#include "node-agent/kernel/route_backend.h"

namespace ferry::agent {

class ReturnPathBackend : public RouteBackend {
 public:
  ReturnPathBackend(std::unique_ptr<RouteBackend> routes, std::unique_ptr<MarkBackend> marks)
      : routes_(std::move(routes)), marks_(std::move(marks)) {}

  absl::StatusOr<RouteState> Load() override;
  // The marks first, so that a new rule's mark is being set by the time the
  // rule matches; a rule whose mark goes away matches nothing meanwhile.
  absl::Status Apply(const RoutePlan& plan) override;

 private:
  std::unique_ptr<RouteBackend> routes_;
  std::unique_ptr<MarkBackend> marks_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_RETURN_PATH_BACKEND_H_
