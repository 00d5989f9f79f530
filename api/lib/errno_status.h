#ifndef FERRY_API_LIB_ERRNO_STATUS_H_
#define FERRY_API_LIB_ERRNO_STATUS_H_

// The one place where an errno becomes an absl::Status code. Callers with
// more to say (the agent's kernel layer adds hints about missing modules
// and IPv6) build on ErrnoCode rather than keeping their own table.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ferry::api {

// The canonical code for `err` (a negative errno counts as its absolute
// value): EPERM/EACCES -> PERMISSION_DENIED, ENOENT -> NOT_FOUND, EEXIST ->
// ALREADY_EXISTS, and so on; OK for 0, INTERNAL for errnos with no better
// code.
absl::StatusCode ErrnoCode(int err);

// "<what>: <strerror>" with ErrnoCode's code. `what` names the operation
// and its object ("bind /run/ferry/ferry.sock").
absl::Status ErrnoStatus(absl::string_view what, int err);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_ERRNO_STATUS_H_
