#ifndef FERRY_CONTROLLER_CLI_SECURITY_ARGS_H_
#define FERRY_CONTROLLER_CLI_SECURITY_ARGS_H_

// The command-line rules of `token create` and `credentials create|revoke`,
// apart from command.cc's general parsing.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "controller/cli/command.h"
#include "controller/cli/flags.h"

namespace ferry::cli {

// --role: viewer, editor or admin for credentials create; node too for
// revoke (a node's certificates can be revoked, not created by hand).
absl::Status ApplyRole(const Flag& flag, Command& command);

// What each of these verbs needs once its flags are applied; `rest` is the
// positionals after the two command words.
absl::Status CheckSecurityArgs(absl::string_view word, const std::vector<std::string>& rest,
                               Command& command);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_SECURITY_ARGS_H_
