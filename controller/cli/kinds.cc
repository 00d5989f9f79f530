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

const google::protobuf::Descriptor& KindDescriptor(ResourceKind kind) {
  switch (kind) {
    case ferry::v1::NODE:
      return *ferry::v1::Node::descriptor();
    case ferry::v1::EVENT:
      return *ferry::v1::Event::descriptor();
    default:
      return *ferry::v1::IPForward::descriptor();
  }
}

std::string KindLowerFromName(absl::string_view kind_name) {
  return absl::AsciiStrToLower(kind_name);
}

}  // namespace ferry::cli
