#ifndef FERRY_CONTROLLER_CLI_SECURITY_COMMANDS_H_
#define FERRY_CONTROLLER_CLI_SECURITY_COMMANDS_H_

// ferryctl's admin verbs over SecurityService: `token create`,
// `credentials create` and `credentials revoke`.

#include "controller/cli/command.h"
#include "controller/cli/runner.h"
#include "controller/cli/security_client.h"

namespace ferry::cli {

// Where `token create` tells the new node to keep its key and certificate.
inline constexpr char kDefaultAgentStateDir[] = "/var/lib/ferry-agent";

// Runs one of the three verbs; returns the exit code.
//  - token create: the token alone on `out` (so it can be captured), the
//    ferry-agent command that uses it on `err`.
//  - credentials create: makes the key here (it never leaves ferryctl),
//    sends only a CSR, and prints the client config, or writes it to -o
//    FILE with mode 0600. The file is opened before the request, so a
//    certificate is never issued for a key that could not be kept.
//  - credentials revoke: "revoked N certificate(s) of NAME".
int RunSecurityCommand(const Command& command, SecurityClient& client, Io io);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_SECURITY_COMMANDS_H_
