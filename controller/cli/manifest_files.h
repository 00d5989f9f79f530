#ifndef FERRY_CONTROLLER_CLI_MANIFEST_FILES_H_
#define FERRY_CONTROLLER_CLI_MANIFEST_FILES_H_

// Reads and decodes the manifests named by -f: files, directories (their
// *.yaml / *.yml files, sorted, not recursive) and "-" for stdin.

#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/lib/manifest.h"

namespace ferry::cli {

// Decodes and validates every document before returning any: the first
// problem is returned as INVALID_ARGUMENT "<source>:<line>: ..." (or
// NOT_FOUND for a missing path), so nothing is sent for a partly bad input.
// An object named twice across inputs is an error too.
absl::StatusOr<std::vector<api::ManifestObject>> LoadManifests(
    const std::vector<std::string>& paths, std::istream& stdin_stream);

// A controller error about one of `objects` ("ipforward/web: spec.ports[0]:
// ... already claimed ...") with its place in the manifest put in front
// ("web.yaml:20:5: ipforward/web: spec.ports[0]: ..."), as decoding errors
// have it: the field's line, or the document's when the error names no
// field. Any other error is returned as it is.
absl::Status PointAtManifest(const std::vector<api::ManifestObject>& objects,
                             const absl::Status& status);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_MANIFEST_FILES_H_
