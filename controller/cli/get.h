#ifndef FERRY_CONTROLLER_CLI_GET_H_
#define FERRY_CONTROLLER_CLI_GET_H_

// `ferryctl get`: one object or a list, in any output format; events sorted
// by when they were last seen; with -w, then every change as it happens.

#include "controller/cli/command.h"
#include "controller/cli/resource_client.h"
#include "controller/cli/runner.h"

namespace ferry::cli {

int RunGet(const Command& command, ResourceClient& client, Io io);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_GET_H_
