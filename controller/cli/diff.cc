#include "controller/cli/diff.h"

#include "absl/strings/str_replace.h"
#include "controller/cli/manifest_files.h"

namespace ferry::cli {

int PrintDiff(const ferry::v1::DiffResponse& response, Io io) {
  bool changes = false;
  bool unknown = false;
  for (const ferry::v1::NodeDiff& node : response.nodes()) {
    if (!node.error().empty()) {
      unknown = true;
      io.err << "node " << node.node()
             << ": error: " << absl::StrReplaceAll(node.error(), {{"\r\n", "; "}, {"\n", "; "}})
             << "\n";
      continue;
    }
    if (node.lines().empty()) continue;  // its kernel holds it all already
    changes = true;
    io.out << "node " << node.node() << ":\n";
    for (const std::string& line : node.lines()) io.out << line << "\n";
  }
  if (unknown) return kExitDiffError;
  return changes ? kExitDiffChanges : kExitDiffNone;
}

int RunDiff(const Command& command, ResourceClient& client, Io io) {
  // One request: a diff is bounded by the controller's message limit (16
  // MiB), not streamed as a large apply is.
  ferry::v1::ApplyRequest request;
  absl::StatusOr<ManifestIndex> index = ReadManifests(
      command.files, io.in, [&request](const ferry::v1::Object& o) { *request.add_objects() = o; });
  if (!index.ok()) {
    FailWith(io.err, index.status());
    return kExitDiffError;
  }
  const absl::Duration timeout =
      command.request_timeout_set ? command.request_timeout : kDefaultDiffTimeout;
  absl::StatusOr<ferry::v1::DiffResponse> response = client.Diff(request, timeout);
  if (!response.ok()) {
    FailWith(io.err, index->PointAt(response.status()));
    return kExitDiffError;
  }
  return PrintDiff(*response, io);
}

}  // namespace ferry::cli
