#ifndef FERRY_API_LIB_MANIFEST_H_
#define FERRY_API_LIB_MANIFEST_H_

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::api {

// A decoded document and where it started, for error messages.
struct ManifestObject {
  ferry::v1::Object object;
  std::string source;  // file name or "-"
  int line = 0;        // 1-based line of the document start
};

// Decodes a multi-document YAML stream strictly. Unknown fields, duplicate
// keys, wrong types, duplicate names of one kind and invalid values are
// INVALID_ARGUMENT errors of the form
//   "<source>:<line>:<column>: <field path>: <what is wrong>"
// e.g. "web.yaml:14:11: spec.ports[0].port: must be 1..65535, got 70000".
// Nothing is returned unless every document is valid.
absl::StatusOr<std::vector<ManifestObject>> DecodeManifests(
    absl::string_view yaml, absl::string_view source);

// Kubernetes-style YAML of one object (apiVersion, kind, metadata, spec,
// status), omitting empty fields. Decoding the output gives the same spec.
std::string EncodeYaml(const ferry::v1::Object& object);

// protobuf's JSON mapping of the wrapped resource (not of the oneof wrapper).
std::string EncodeJson(const ferry::v1::Object& object);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_MANIFEST_H_
