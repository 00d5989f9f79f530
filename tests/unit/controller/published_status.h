#ifndef FERRY_TESTS_UNIT_CONTROLLER_PUBLISHED_STATUS_H_
#define FERRY_TESTS_UNIT_CONTROLLER_PUBLISHED_STATUS_H_

// A forward's status as the fleet published it: what ResourceService serves
// in place of the stored one (the store keeps none).

#include <string>

#include "controller/fleet/forward_statuses.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

inline ferry::v1::IPForwardStatus PublishedStatus(const ForwardStatuses& statuses,
                                                  const std::string& name) {
  ferry::v1::IPForwardStatus status;
  if (ForwardStatuses::Bytes bytes = statuses.Get(name)) status.ParseFromString(*bytes);
  return status;
}

}  // namespace ferry::controller

#endif  // FERRY_TESTS_UNIT_CONTROLLER_PUBLISHED_STATUS_H_
