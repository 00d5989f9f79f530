#ifndef FERRY_API_LIB_VALIDATION_H_
#define FERRY_API_LIB_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/lib/objects.h"  // KindName, ObjectName: formerly declared here
#include "ferry/v1/ferry.pb.h"

namespace ferry::api {

// Largest endPort - port + 1 accepted: each port of a range is one map
// element in the kernel, so ranges are bounded.
inline constexpr uint32_t kMaxPortRange = 1024;
// Largest number of spec.ports entries of one forward.
inline constexpr size_t kMaxPortMappings = 256;
// Longest name and label key (after any prefix) or value.
inline constexpr size_t kMaxNameLength = 63;

// Checks one object on its own (no store access): names, labels, addresses,
// ports, families, enums. Errors are INVALID_ARGUMENT
// "<field path>: <what is wrong>", e.g. "spec.ports[0].port: must be ...".
// The server runs this on every write; the CLI runs it before sending.
absl::Status ValidateObject(const ferry::v1::Object& object);
absl::Status ValidateIPForward(const ferry::v1::IPForward& forward);
absl::Status ValidateNode(const ferry::v1::Node& node);

// Most labels and addresses one agent may report, and the largest Hello
// apart from its per-forward errors: an agent is not trusted to stay small.
inline constexpr size_t kMaxNodeLabels = 64;
inline constexpr size_t kMaxNodeAddresses = 256;
inline constexpr size_t kMaxHelloBytes = 64 << 10;

// What an agent says about itself: the Hello (node name, labels,
// addresses, versions) and each AddressUpdate. Errors are INVALID_ARGUMENT
// naming the field, e.g. "hello.addresses[3].address: ...".
absl::Status ValidateHello(const ferry::v1::Hello& hello);
absl::Status ValidateNodeAddresses(
    const google::protobuf::RepeatedPtrField<ferry::v1::NodeAddress>& addresses,
    absl::string_view field);

// Most route sources one AddressUpdate may carry: one per backend address
// a frontend forwards to while keeping client sources. An agent with more
// reports the first ones.
inline constexpr size_t kMaxRouteSources = 16384;
// Each destination and source an IP address of one family, each interface
// a Linux interface name; errors name the field, e.g.
// "addresses.routeSources[2].source: ...".
absl::Status ValidateRouteSources(
    const google::protobuf::RepeatedPtrField<ferry::v1::RouteSource>& sources,
    absl::string_view field);

// The first problem of `object` with its field path kept apart from the
// message, so the manifest decoder can point at the YAML node of the path.
// ValidateObject's message is "<path>: <message>" of this.
struct FieldError {
  std::string path;     // e.g. "spec.ports[0].port"
  std::string message;  // e.g. "must be 1..65535, got 70000"
};
std::optional<FieldError> FindFieldError(const ferry::v1::Object& object);

// Single-value checks shared with the label selector parser. The messages
// carry no field path.
// spec.rollout.maxUnavailable: how many of a forward's frontend nodes may
// be changing at once, as a count or a percentage of them.
struct MaxUnavailable {
  uint32_t value = 1;
  bool percent = false;
  // For `nodes` selected nodes; at least 1.
  uint32_t Of(size_t nodes) const;
};
// "" (one node), "2" or "25%"; INVALID_ARGUMENT otherwise.
absl::StatusOr<MaxUnavailable> ParseMaxUnavailable(absl::string_view text);

absl::Status ValidateName(absl::string_view name);
absl::Status ValidateLabelKey(absl::string_view key);
absl::Status ValidateLabelValue(absl::string_view value);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_VALIDATION_H_
