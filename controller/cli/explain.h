#ifndef FERRY_CONTROLLER_CLI_EXPLAIN_H_
#define FERRY_CONTROLLER_CLI_EXPLAIN_H_

// `ferryctl explain TYPE[.FIELD...]`: a resource's fields, their types and
// their docs, as `kubectl explain` prints them. The types come from the
// generated descriptors; the docs, which descriptors do not carry, from
// the table in explain_schema.cc (ferry.proto's comments, written out).

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ferry/v1/ferry.pb.h"
#include "google/protobuf/descriptor.h"

namespace ferry::cli {

// The doc of a message (`field` empty) or of one of its fields, by proto
// names ("ferry.v1.Frontend", "node_name"); nullptr when the table has none.
const char* FieldDoc(absl::string_view message, absl::string_view field);

// The text of `explain`. `path` is dot-separated JSON field names below the
// kind ("spec.frontend"), empty for the kind itself. INVALID_ARGUMENT naming
// the first unknown field and the fields there are.
absl::StatusOr<std::string> Explain(ferry::v1::ResourceKind kind, absl::string_view path);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_EXPLAIN_H_
