#ifndef FERRY_CONTROLLER_CLI_KINDS_H_
#define FERRY_CONTROLLER_CLI_KINDS_H_

// Resource type names as users type them and as ferryctl prints them.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::cli {

// "forwards", "forward", "ipforwards", "ipforward", "fwd", "nodes", "node",
// "no", "events", "event", "ev" (case-insensitive). INVALID_ARGUMENT naming the accepted types.
absl::StatusOr<ferry::v1::ResourceKind> ParseKind(absl::string_view text);

// "ipforward" / "node" / "event": the prefix of "ipforward/web".
std::string KindLower(ferry::v1::ResourceKind kind);

// The kind of the resource inside the oneof; UNSPECIFIED when empty.
ferry::v1::ResourceKind KindOf(const ferry::v1::Object& object);

// Maps ApplyResult.kind ("IPForward", "Node") to the printed prefix.
std::string KindLowerFromName(absl::string_view kind_name);

const ferry::v1::ObjectMeta& MetadataOf(const ferry::v1::Object& object);

// "ipforward/web".
std::string ObjectRef(const ferry::v1::Object& object);
std::string ObjectRef(ferry::v1::ResourceKind kind, absl::string_view name);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_KINDS_H_
