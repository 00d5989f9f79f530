#ifndef FERRY_CONTROLLER_PLANNER_DATA_PATH_H_
#define FERRY_CONTROLLER_PLANNER_DATA_PATH_H_

// A frontend's data-path verdict on one forward, as the planner's status and
// rollback logic read it (the fleet's DataPathTracker keeps them).

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace ferry::controller {

struct DataPathVerdict {
  enum class Status : uint8_t { kUnknown, kTrue, kFalse };
  Status status = Status::kUnknown;
  int64_t generation = 0;  // of the forward's rules the probe went through
  std::string reason;
  std::string message;  // empty when it passed
  absl::Time checked_at;
};

// "True", "False" or "Unknown".
inline const char* StatusName(DataPathVerdict::Status status) {
  switch (status) {
    case DataPathVerdict::Status::kTrue:
      return "True";
    case DataPathVerdict::Status::kFalse:
      return "False";
    case DataPathVerdict::Status::kUnknown:
      break;
  }
  return "Unknown";
}

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PLANNER_DATA_PATH_H_
