#ifndef FERRY_API_LIB_MANIFEST_H_
#define FERRY_API_LIB_MANIFEST_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::api {

// A decoded document and where it started, for error messages.
struct ManifestObject {
  ferry::v1::Object object;
  std::string source;  // file name or "-"
  int line = 0;        // 1-based line of the document start
};

struct SourcePosition {
  int line = 0;  // 1-based
  int column = 0;
};

// Where the field `path` ("spec.ports[0]", as in error messages; "" for
// the document itself) of the document in `yaml` that defines an object of
// `object`'s kind and name is, or its nearest parent that is there.
// Nullopt when no document defines it. For errors found after decoding,
// such as the controller's conflict check.
std::optional<SourcePosition> LocateField(absl::string_view yaml, const ferry::v1::Object& object,
                                          absl::string_view path);

// Decodes a multi-document YAML stream strictly. Unknown fields, duplicate
// keys, wrong types, duplicate names of one kind and invalid values are
// INVALID_ARGUMENT errors of the form
//   "<source>:<line>:<column>: <field path>: <what is wrong>"
// e.g. "web.yaml:14:11: spec.ports[0].port: must be 1..65535, got 70000".
// Nothing is returned unless every document is valid.
absl::StatusOr<std::vector<ManifestObject>> DecodeManifests(absl::string_view yaml,
                                                            absl::string_view source);

// One object of DecodeManifestStream and where its document is.
struct DecodedManifest {
  const ferry::v1::Object& object;
  int line = 0;  // 1-based line of the document start, as ManifestObject's
  // Byte offset of the start of that line: LocateField given the input from
  // here finds this document first (add line - 1 to its line) when it
  // starts the stream or a "---" line, as manifests do.
  size_t offset = 0;
};

// DecodeManifests one document at a time, for inputs too large to hold as
// protos: `visit` sees each valid object in order and must copy what it
// keeps. The result and its errors are DecodeManifests'; after an error,
// drop what `visit` was given.
absl::Status DecodeManifestStream(absl::string_view yaml, absl::string_view source,
                                  absl::FunctionRef<void(const DecodedManifest&)> visit);

// Kubernetes-style YAML of one object (apiVersion, kind, metadata, spec,
// status), omitting empty fields. Decoding the output gives the same spec.
std::string EncodeYaml(const ferry::v1::Object& object);

// protobuf's JSON mapping of the wrapped resource (not of the oneof wrapper).
std::string EncodeJson(const ferry::v1::Object& object);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_MANIFEST_H_
