#ifndef FERRY_NODE_AGENT_KERNEL_ERRNO_STATUS_H_
#define FERRY_NODE_AGENT_KERNEL_ERRNO_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ferry::agent {

// The one place where a kernel errno becomes an absl::Status. `what` names
// the operation and object ("adding element 192.0.2.1 . tcp . 80 to map
// dnat4"); the message is "<what>: <strerror>[ (<hint>)]".
// `missing_feature` marks requests whose ENOENT/EOPNOTSUPP means "this
// kernel lacks a module" (creating chains, rules, sets) rather than
// "object not found".
absl::Status ErrnoToStatus(int err, absl::string_view what,
                           bool missing_feature = false);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_ERRNO_STATUS_H_
