#ifndef FERRY_CONTROLLER_SECURITY_AUTHORIZER_H_
#define FERRY_CONTROLLER_SECURITY_AUTHORIZER_H_

// Role-based authorization: a pure function of (principal, verb, kind), so
// every role x verb pair is a unit test.
//
//   viewer  get, list, watch every kind (forwards, nodes, events)
//   editor  viewer + apply and delete IPForwards
//   admin   editor + apply/delete Nodes, create join tokens and
//           credentials, revoke
//   node    the agent API only (Sync, Renew), and only as itself: the
//           session's node name is the certificate's CN
//   every role may ask the server's version (ResourceService.Version)
//
// Joining needs no principal (the token authenticates) and renewing needs
// any valid certificate; both are decided by SecurityService.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "controller/security/principal.h"

namespace ferry::controller {

enum class Verb {
  kGet,
  kList,
  kWatch,
  kApply,
  kDelete,
  kSync,         // AgentService.Sync
  kRenew,        // SecurityService.Renew
  kCreateToken,  // SecurityService.CreateJoinToken
  kCreateCredentials,
  kRevoke,
  kVersion,  // ResourceService.Version: a read every role has
};

// "get", "list", ..., "create-token", "create-credentials", "revoke",
// "version".
absl::string_view VerbName(Verb verb);

// `kind` is "IPForward", "Node", "Event", or empty for verbs without one.
// OK, UNAUTHENTICATED for an anonymous caller, or PERMISSION_DENIED:
//   permission denied: user "bob" (viewer) may not apply IPForward
absl::Status Authorize(const Principal& principal, Verb verb, absl::string_view kind);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SECURITY_AUTHORIZER_H_
