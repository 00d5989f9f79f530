#ifndef FERRY_API_LIB_UUID_H_
#define FERRY_API_LIB_UUID_H_

// RFC 4122 version-4 UUIDs for metadata.uid.

#include <string>

#include "absl/random/random.h"

namespace ferry::api {

// "xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx" from `gen`. Callers keep their
// own generator (absl::BitGen is not thread-safe) under their own lock.
std::string NewUuidV4(absl::BitGen& gen);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_UUID_H_
