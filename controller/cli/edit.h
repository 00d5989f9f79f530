#ifndef FERRY_CONTROLLER_CLI_EDIT_H_
#define FERRY_CONTROLLER_CLI_EDIT_H_

// ferryctl edit TYPE/NAME, as kubectl edit: the object's YAML (as
// `get -o yaml` prints it) in a temporary file opened with the editor
// (Command::editor, run by /bin/sh with the file's path appended), then:
//   - unchanged, or emptied: "Edit cancelled, no changes made.", exit 0;
//   - a decode or validation error, or one the server gives as invalid
//     input: the file is reopened with the error as comments at its top;
//     saved again without a change after that, ferryctl exits 1 and keeps
//     the file, naming its path;
//   - otherwise applied with the resourceVersion read (a change made in
//     between fails with a conflict, exit 1, the file kept):
//     "ipforward/web edited".
// The name and kind cannot change, nor the resourceVersion.

#include "controller/cli/command.h"
#include "controller/cli/resource_client.h"
#include "controller/cli/runner.h"

namespace ferry::cli {

int RunEdit(const Command& command, ResourceClient& client, Io io);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_EDIT_H_
