#ifndef FERRY_CONTROLLER_CLI_WAIT_H_
#define FERRY_CONTROLLER_CLI_WAIT_H_

// `ferryctl wait`: reads the objects once, then follows the Watch stream
// from that revision until every object meets the condition or time runs out.

#include "controller/cli/command.h"
#include "controller/cli/resource_client.h"
#include "controller/cli/runner.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::cli {

// True when the object carries the condition with the wanted status
// (case-insensitive). A condition observed for an older generation does
// not count: after an apply, `wait` means the new spec.
bool ConditionMet(const ferry::v1::Object& object, const WaitCondition& wait);

int RunWait(const Command& command, ResourceClient& client, Io io);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_WAIT_H_
