#ifndef FERRY_CONTROLLER_CLI_DIFF_H_
#define FERRY_CONTROLLER_CLI_DIFF_H_

// ferryctl diff -f FILE|DIR|-: what applying the manifests would change in
// each affected node's kernel, as its agent works it out against the
// kernel as it is (ResourceService.Diff). Changes nothing. The manifests
// are read and checked as apply reads them, with the same positioned
// errors. Exits as `kubectl diff` does:
//   0  no node's kernel would change
//   1  some would (their lines are on stdout)
//   2  an error: bad input, a failed call, or a node whose diff is unknown
//      ("node NAME: error: ..." on stderr); the known diffs still print.

#include "controller/cli/command.h"
#include "controller/cli/resource_client.h"
#include "controller/cli/runner.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::cli {

inline constexpr int kExitDiffNone = 0;
inline constexpr int kExitDiffChanges = 1;
inline constexpr int kExitDiffError = 2;

// Prints each affected node's lines under "node NAME:" (a node with none
// prints nothing) and each node's error on the error stream; returns the
// exit code.
int PrintDiff(const ferry::v1::DiffResponse& response, Io io);

int RunDiff(const Command& command, ResourceClient& client, Io io);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_DIFF_H_
