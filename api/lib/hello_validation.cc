#include "api/lib/validation.h"

// What an agent says about itself (Hello, AddressUpdate): the agent is not
// trusted to stay small or well-formed, so every field is bounded here.

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/lib/ip_address.h"

namespace ferry::api {

absl::Status ValidateNodeAddresses(
    const google::protobuf::RepeatedPtrField<ferry::v1::NodeAddress>& addresses,
    absl::string_view field) {
  if (static_cast<size_t>(addresses.size()) > kMaxNodeAddresses) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", addresses.size(), " addresses; at most ", kMaxNodeAddresses));
  }
  for (int i = 0; i < addresses.size(); ++i) {
    const ferry::v1::NodeAddress& a = addresses[i];
    const std::string at = absl::StrCat(field, "[", i, "]");
    absl::StatusOr<IpAddress> ip = IpAddress::Parse(a.address());
    if (!ip.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          at, ".address: \"", absl::CEscape(a.address().substr(0, 64)), "\" is not an IP address"));
    }
    const uint32_t max_prefix = ip->is_v4() ? 32 : 128;
    if (a.prefix_length() > max_prefix) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ".prefixLength: ", a.prefix_length(), " is more than ", max_prefix));
    }
    // IFNAMSIZ - 1: longer is no Linux interface.
    if (a.interface().size() > 15) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".interface: longer than 15 characters"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRouteSources(
    const google::protobuf::RepeatedPtrField<ferry::v1::RouteSource>& sources,
    absl::string_view field) {
  if (static_cast<size_t>(sources.size()) > kMaxRouteSources) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", sources.size(), " route sources; at most ", kMaxRouteSources));
  }
  for (int i = 0; i < sources.size(); ++i) {
    const ferry::v1::RouteSource& r = sources[i];
    const std::string at = absl::StrCat(field, "[", i, "]");
    absl::StatusOr<IpAddress> destination = IpAddress::Parse(r.destination());
    if (!destination.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".destination: \"",
                                                     absl::CEscape(r.destination().substr(0, 64)),
                                                     "\" is not an IP address"));
    }
    absl::StatusOr<IpAddress> source = IpAddress::Parse(r.source());
    if (!source.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          at, ".source: \"", absl::CEscape(r.source().substr(0, 64)), "\" is not an IP address"));
    }
    if (source->family() != destination->family()) {
      return absl::InvalidArgumentError(absl::StrCat(
          at, ".source: ", r.source(), " is not of the family of destination ", r.destination()));
    }
    if (r.interface().empty() || r.interface().size() > 15) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".interface: must be 1 to 15 characters"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateHello(const ferry::v1::Hello& hello) {
  if (absl::Status s = ValidateName(hello.node_name()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("hello.nodeName: ", s.message()));
  }
  if (static_cast<size_t>(hello.labels_size()) > kMaxNodeLabels) {
    return absl::InvalidArgumentError(
        absl::StrCat("hello.labels: ", hello.labels_size(), " labels; at most ", kMaxNodeLabels));
  }
  for (const auto& [key, value] : hello.labels()) {
    if (absl::Status s = ValidateLabelKey(key); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("hello.labels[", absl::CEscape(key.substr(0, 64)), "]: ", s.message()));
    }
    if (absl::Status s = ValidateLabelValue(value); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("hello.labels[", key, "]: ", s.message()));
    }
  }
  if (absl::Status s = ValidateNodeAddresses(hello.addresses(), "hello.addresses"); !s.ok()) {
    return s;
  }
  ferry::v1::Hello rest = hello;
  rest.clear_last_applied_forward_errors();
  if (rest.ByteSizeLong() > kMaxHelloBytes) {
    return absl::InvalidArgumentError(absl::StrCat("hello: ", rest.ByteSizeLong(),
                                                   " bytes without its forward errors; at most ",
                                                   kMaxHelloBytes));
  }
  return absl::OkStatus();
}

}  // namespace ferry::api
