#ifndef FERRY_CONTROLLER_CLI_LABEL_H_
#define FERRY_CONTROLLER_CLI_LABEL_H_

// ferryctl label: set or remove labels of one stored object, as an apply of
// the object read back with its resourceVersion, so a concurrent change
// fails the write instead of being lost.

#include <vector>

#include "absl/status/statusor.h"
#include "controller/cli/command.h"
#include "controller/cli/resource_client.h"
#include "controller/cli/runner.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::cli {

// Applies `changes` to the labels an operator owns: a Node's spec.labels
// (its agent's --labels stay the agent's), a forward's metadata.labels.
// True if anything changed. Errors name the label: a set of a key that
// has another value without `overwrite`, a removal of a key that is not
// there (or is the agent's).
absl::StatusOr<bool> ChangeLabels(const std::vector<Command::LabelChange>& changes, bool overwrite,
                                  ferry::v1::Object* object);

int RunLabel(const Command& command, ResourceClient& client, Io io);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_LABEL_H_
