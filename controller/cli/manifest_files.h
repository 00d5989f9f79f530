#ifndef FERRY_CONTROLLER_CLI_MANIFEST_FILES_H_
#define FERRY_CONTROLLER_CLI_MANIFEST_FILES_H_

// Reads and decodes the manifests named by -f: files, directories (their
// *.yaml / *.yml files, sorted, not recursive) and "-" for stdin.

#include <istream>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::cli {

// Where each object read by ReadManifests was defined: all PointAt needs,
// kept instead of the objects, so a large apply holds each object once.
class ManifestIndex {
 public:
  // A controller error about one of the objects ("ipforward/web:
  // spec.ports[0]: ... already claimed ...") with its place in the manifest
  // put in front ("web.yaml:20:5: ipforward/web: spec.ports[0]: ..."), as
  // decoding errors have it: the field's line, or the document's when the
  // error names no field. Any other error is returned as it is.
  absl::Status PointAt(const absl::Status& status) const;

  size_t size() const { return entries_.size(); }

 private:
  friend class ManifestReader;
  struct Input {
    std::string source;  // as printed in messages
    std::string text;
  };
  struct Entry {
    ferry::v1::ResourceKind kind;
    std::string name;
    size_t input;
    int line;       // of the document start
    size_t offset;  // of that line in the input's text
  };
  std::vector<Input> inputs_;
  std::vector<Entry> entries_;
};

// Decodes and validates every document of every input, handing each object
// to `visit` in order; `visit` must copy what it keeps. The first problem
// is returned as INVALID_ARGUMENT "<source>:<line>: ..." (or NOT_FOUND for
// a missing path) and then whatever `visit` saw must be dropped: nothing
// may be sent for a partly bad input. An object named twice across inputs
// is an error too.
absl::StatusOr<ManifestIndex> ReadManifests(
    const std::vector<std::string>& paths, std::istream& stdin_stream,
    absl::FunctionRef<void(const ferry::v1::Object&)> visit);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_MANIFEST_FILES_H_
