#include "api/lib/conditions.h"

#include "absl/strings/match.h"

namespace ferry::api {

const ferry::v1::Condition* FindCondition(const Conditions& conditions, absl::string_view type) {
  for (const ferry::v1::Condition& condition : conditions) {
    if (absl::EqualsIgnoreCase(condition.type(), type)) return &condition;
  }
  return nullptr;
}

std::string ConditionStatus(const Conditions& conditions, absl::string_view type) {
  const ferry::v1::Condition* condition = FindCondition(conditions, type);
  if (condition == nullptr || condition->status().empty()) return "Unknown";
  return condition->status();
}

}  // namespace ferry::api
