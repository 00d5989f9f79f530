#include "controller/cli/kinds.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ferry::cli {

using ferry::v1::ResourceKind;

absl::StatusOr<ResourceKind> ParseKind(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "forwards" || lower == "forward" || lower == "ipforwards" || lower == "ipforward" ||
      lower == "fwd") {
    return ferry::v1::IP_FORWARD;
  }
  if (lower == "nodes" || lower == "node" || lower == "no") {
    return ferry::v1::NODE;
  }
  if (lower == "events" || lower == "event" || lower == "ev") {
    return ferry::v1::EVENT;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown resource type \"", text,
                   "\" (want forwards, forward, ipforwards, fwd, nodes, node or events)"));
}

std::string KindLower(ResourceKind kind) {
  switch (kind) {
    case ferry::v1::IP_FORWARD:
      return "ipforward";
    case ferry::v1::NODE:
      return "node";
    case ferry::v1::EVENT:
      return "event";
    default:
      return "unknown";
  }
}

ResourceKind KindOf(const ferry::v1::Object& object) {
  switch (object.kind_case()) {
    case ferry::v1::Object::kIpForward:
      return ferry::v1::IP_FORWARD;
    case ferry::v1::Object::kNode:
      return ferry::v1::NODE;
    case ferry::v1::Object::kEvent:
      return ferry::v1::EVENT;
    default:
      return ferry::v1::RESOURCE_KIND_UNSPECIFIED;
  }
}

std::string KindLowerFromName(absl::string_view kind_name) {
  return absl::AsciiStrToLower(kind_name);
}

const ferry::v1::ObjectMeta& MetadataOf(const ferry::v1::Object& object) {
  if (object.has_node()) return object.node().metadata();
  if (object.has_event()) return object.event().metadata();
  return object.ip_forward().metadata();
}

std::string ObjectRef(const ferry::v1::Object& object) {
  return ObjectRef(KindOf(object), MetadataOf(object).name());
}

std::string ObjectRef(ResourceKind kind, absl::string_view name) {
  return absl::StrCat(KindLower(kind), "/", name);
}

}  // namespace ferry::cli
