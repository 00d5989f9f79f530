#ifndef FERRY_CONTROLLER_CLI_RUNNER_H_
#define FERRY_CONTROLLER_CLI_RUNNER_H_

// Executes a parsed Command against a ResourceClient and writes its output.
// Errors are one line "error: <message>" on the error stream, except the
// server's refusals, which read as kubectl's ("Error from server
// (Forbidden): ...").

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "controller/cli/command.h"
#include "controller/cli/interrupt.h"
#include "controller/cli/resource_client.h"

namespace ferry::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  // Ends `get -w` (exit 0) when cancelled; none: only --timeout ends it.
  WatchCanceller* interrupt = nullptr;
};

// Writes "error: <message>" as one line (embedded newlines are folded).
void PrintError(std::ostream& err, absl::string_view message);

// Prints a failure as one line and returns kExitFailure: ServerRefusalLine
// for the server's PERMISSION_DENIED / UNAUTHENTICATED, else PrintError of
// the status's message.
int FailWith(std::ostream& err, const absl::Status& status);

// Runs any command but token and credentials; returns the exit code.
int RunCommand(const Command& command, ResourceClient& client, Io io);

// What ferryctl reads from its environment; empty when unset.
struct Environment {
  std::string server;  // $FERRY_SERVER
  std::string config;  // $FERRY_CONFIG
  std::string home;    // $HOME: where the default client config is looked for
  // edit's editor: $FERRY_EDITOR, else $EDITOR; empty: vi.
  std::string editor;
};

// The whole program: parse, then help/version locally, or load the client
// config, connect and run.
int FerryctlMain(const std::vector<std::string>& args, const Environment& env, Io io);

// Message for a NOT_FOUND of one object: `ipforward "web" not found`.
std::string NotFoundMessage(ferry::v1::ResourceKind kind, absl::string_view name);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_RUNNER_H_
