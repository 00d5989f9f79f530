#ifndef FERRY_CONTROLLER_CLI_FIELDS_H_
#define FERRY_CONTROLLER_CLI_FIELDS_H_

// One-line renderings of resource fields, shared by tables, describe and wait.

#include <string>

#include "absl/strings/string_view.h"
#include "api/lib/conditions.h"
#include "api/lib/forward_spec.h"
#include "ferry/v1/ferry.pb.h"
#include "google/protobuf/map.h"
#include "google/protobuf/repeated_field.h"

namespace ferry::cli {

// The status vocabulary and the spec's defaults are the API's.
using api::Conditions;
using api::ConditionStatus;
using api::FindCondition;

// "node-a/192.0.2.1"; just the address when there is no node.
std::string FormatEndpoint(absl::string_view node, absl::string_view address);
// "node-a/192.0.2.1", or for a nodeSelector "[tier=edge,region in (eu)]/eth0"
// (its terms, then the address or the interface).
std::string FormatFrontend(const ferry::v1::Frontend& frontend);

// "80→8080/TCP,443/TCP,8000-8009→9000-9009/UDP"; a target port equal to
// the port (or 0) is not repeated.
std::string FormatPorts(const ferry::v1::IPForwardSpec& spec, absl::string_view separator = ",");

using api::DriftPolicyName;
using api::SourceIPName;

// "a=1,b=2" sorted by key; "<none>" when empty.
std::string FormatLabels(const google::protobuf::Map<std::string, std::string>& labels);

// "10.8.0.1/24,192.0.2.1/32 +2 more": at most `max_shown` addresses.
std::string FormatAddresses(
    const google::protobuf::RepeatedPtrField<ferry::v1::NodeAddress>& addresses, size_t max_shown);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_FIELDS_H_
