#ifndef FERRY_API_LIB_VALIDATION_H_
#define FERRY_API_LIB_VALIDATION_H_

#include "absl/status/status.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::api {

// Largest endPort - port + 1 accepted: each port of a range is one map
// element in the kernel, so ranges are bounded.
inline constexpr uint32_t kMaxPortRange = 1024;

// Checks one object on its own (no store access): names, labels, addresses,
// ports, families, enums. Errors are INVALID_ARGUMENT
// "<field path>: <what is wrong>", e.g. "spec.ports[0].port: must be ...".
// The server runs this on every write; the CLI runs it before sending.
absl::Status ValidateObject(const ferry::v1::Object& object);
absl::Status ValidateIPForward(const ferry::v1::IPForward& forward);
absl::Status ValidateNode(const ferry::v1::Node& node);

// Kind helpers shared by server and CLI.
std::string KindName(const ferry::v1::Object& object);   // "IPForward"
std::string ObjectName(const ferry::v1::Object& object);  // metadata.name

}  // namespace ferry::api

#endif  // FERRY_API_LIB_VALIDATION_H_
