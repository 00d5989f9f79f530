#ifndef FERRY_API_LIB_FILES_H_
#define FERRY_API_LIB_FILES_H_

// Reading a whole file, bounded, with the errno in the message. Readers
// that need more (a stat for the mode, a size check before reading) keep
// their own open, e.g. ferryctl's client config and the webhook secret.

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace ferry::api {

// Reads `path` whole. Errors: "cannot read <path>: <strerror>" with the
// errno's code (api/lib/errno_status.h); a file longer than `max_bytes` is
// RESOURCE_EXHAUSTED "<path>: larger than <max_bytes> bytes".
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes = size_t{1} << 30);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_FILES_H_
