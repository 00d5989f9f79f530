#ifndef FERRY_NODE_AGENT_CLIENT_CONTROLLER_TARGETS_H_
#define FERRY_NODE_AGENT_CLIENT_CONTROLLER_TARGETS_H_

// Which ferry-controller replica the agent talks to. Replicas share one
// etcd and only the leader serves Sync; a follower ends the stream at once
// with UNAVAILABLE and names the leader in the trailing metadata
// (kLeaderMetadataKey). The policy here is pure, so every path is tested
// without a server: the client reports how each stream ended and is told
// where to go next and whether to wait its backoff first.

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::agent {

// Trailing metadata of a follower's Sync: the leader's agent address
// (host:port), empty or absent while no leader is known. The controller
// sets it by the same name.
inline constexpr char kLeaderMetadataKey[] = "ferry-leader";

// Accepts "host:port", "[v6]:port", "dns:///host:port" and "unix:/abs/path".
absl::Status ValidateControllerTarget(absl::string_view target);

// --controller's value: host:port entries separated by commas, or a single
// unix:/path (taken whole, commas and all, as before lists existed). Each
// entry is checked by ValidateControllerTarget, whose error names it.
absl::StatusOr<std::vector<std::string>> ParseControllerTargets(absl::string_view text);

// Whether an RPC's status says the controller was not reached (refused,
// unreachable, timed out): worth asking the next replica. Anything else is
// an answer, and another replica would give the same one.
bool IsUnreached(const absl::Status& status);

// Calls `call(target)` with each target in order until one is reached
// (IsUnreached is false), and returns that result; if none is, the last
// failure. Join and renewal use it: every replica serves SecurityService.
template <typename Call>
auto AskInOrder(const std::vector<std::string>& targets, const Call& call)
    -> decltype(call(targets.front())) {
  decltype(call(targets.front())) result = absl::InvalidArgumentError("no controller address");
  for (const std::string& target : targets) {
    result = call(target);
    if (!IsUnreached(result.status())) return result;
  }
  return result;
}

// The list from --controller and the target of the next attempt. Used by
// the client's Run thread only.
class ControllerTargets {
 public:
  // Redirects followed at once since the last stream that got a message;
  // beyond this each waits the backoff, so two replicas that name each
  // other cannot make the agent spin.
  static constexpr int kMaxImmediateRedirects = 3;

  struct Move {
    std::string from;
    std::string to;
    bool redirect = false;  // `to` is the leader a follower named
    bool wait = true;       // wait the backoff before connecting to `to`
    // Why a leader named by the follower was not followed; empty if none
    // was named or it was followed.
    std::string ignored;
  };

  // `targets` must be non-empty (ParseControllerTargets' result).
  explicit ControllerTargets(std::vector<std::string> targets);

  // Where the next attempt goes: the first entry until a stream ends.
  const std::string& current() const { return current_; }
  // Whether `target` is in the list (a leader named by a follower may not be).
  bool Listed(absl::string_view target) const;

  // The stream to current() ended. `established`: it got a message from
  // the controller, so it was the leader. `leader`: the follower's
  // kLeaderMetadataKey, empty if none. A valid leader is followed; anything
  // else (refused, broken, no leader known, a hint that is no host:port)
  // moves on to the list's next entry after the backoff. A unix: target's
  // hints are ignored: the agent has no TLS identity to offer a TCP leader.
  Move Ended(bool established, absl::string_view leader);

 private:
  const std::vector<std::string> targets_;
  // The list entry tried last, or the one the current leader matches;
  // round robin continues after it.
  size_t cursor_ = 0;
  std::string current_;
  int redirects_ = 0;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_CLIENT_CONTROLLER_TARGETS_H_
