#ifndef FERRY_NODE_AGENT_CLIENT_NODE_IDENTITY_H_
#define FERRY_NODE_AGENT_CLIENT_NODE_IDENTITY_H_

// What the agent does at start, before talking to a TCP controller: use the
// identity kept in --state-dir if it is this node's, else join with the
// token, else say what the operator must do. The join itself and the wait
// between attempts are injected, so every path is testable without a
// controller or a sleep.

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node-agent/client/backoff.h"
#include "node-agent/client/credential_files.h"

namespace ferry::agent {

struct IdentityOptions {
  std::string state_dir;
  std::string node_name;
  std::string join_token;  // empty: none given
  Backoff::Options backoff{absl::Seconds(1), 2.0, absl::Seconds(30), 0.2};
};

// One join attempt (JoinController in the agent).
using JoinFunction = std::function<absl::StatusOr<NodeCredentials>()>;
// Waits `delay` before another attempt; false if the agent is stopping.
using SleepFunction = std::function<bool(absl::Duration delay)>;

// The credentials to use, stored in the state dir:
//  - the files there, if they are this node's, with the key that matches
//    and valid under their CA at `now`;
//  - else, with a join token, what `join` returns (stored before it is
//    returned). A join that did not reach the controller (UNAVAILABLE,
//    DEADLINE_EXCEEDED) is retried with backoff until `sleep` says stop
//    (then CANCELLED); any other failure is returned as it came, since a
//    refused token does not become good by asking again;
//  - else FAILED_PRECONDITION: "no credentials in DIR and no --join-token:
//    create one with `ferryctl token create --node NAME`" (or what is wrong
//    with the files that are there).
absl::StatusOr<NodeCredentials> LoadOrJoin(const IdentityOptions& options, absl::Time now,
                                           const JoinFunction& join, const SleepFunction& sleep,
                                           Backoff::RandomSource random = nullptr);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_CLIENT_NODE_IDENTITY_H_
