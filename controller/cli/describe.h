#ifndef FERRY_CONTROLLER_CLI_DESCRIBE_H_
#define FERRY_CONTROLLER_CLI_DESCRIBE_H_

// `describe` output: a human-readable, multi-line view of one object,
// ending with its recent events (see RecentEvents in events.h).

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::cli {

std::string DescribeForward(const ferry::v1::IPForward& forward,
                            const std::vector<ferry::v1::Event>& events, absl::Time now);
std::string DescribeNode(const ferry::v1::Node& node, const std::vector<ferry::v1::Event>& events,
                         absl::Time now);
std::string DescribeObject(const ferry::v1::Object& object,
                           const std::vector<ferry::v1::Event>& events, absl::Time now);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_DESCRIBE_H_
