#ifndef FERRY_API_LIB_FILES_H_
#define FERRY_API_LIB_FILES_H_

// Reading a whole file, once for every binary: certificates, keys, tokens,
// manifests and configs all come through here, bounded, with the errno in
// the message.

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
