#ifndef FERRY_CONTROLLER_CLI_KINDS_H_
#define FERRY_CONTROLLER_CLI_KINDS_H_

// Resource type names as users type them and as ferryctl prints them.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/lib/objects.h"
#include "ferry/v1/ferry.pb.h"
#include "google/protobuf/descriptor.h"

namespace ferry::cli {

// "forwards", "forward", "ipforwards", "ipforward", "fwd", "nodes", "node",
// "no", "events", "event", "ev" (case-insensitive). INVALID_ARGUMENT naming the accepted types.
absl::StatusOr<ferry::v1::ResourceKind> ParseKind(absl::string_view text);

// The message type of `kind`'s objects: IPForward, Node or Event (IPForward
// for an unset kind).
const google::protobuf::Descriptor& KindDescriptor(ferry::v1::ResourceKind kind);

// Maps ApplyResult.kind ("IPForward", "Node") to the printed prefix.
std::string KindLowerFromName(absl::string_view kind_name);

// The API's accessors (api/lib/objects.h), by the names ferryctl's code uses.
using api::KindLower;
using api::KindOf;
using api::MetaOf;
using api::ObjectRef;

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_KINDS_H_
