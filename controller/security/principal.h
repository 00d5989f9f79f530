#ifndef FERRY_CONTROLLER_SECURITY_PRINCIPAL_H_
#define FERRY_CONTROLLER_SECURITY_PRINCIPAL_H_

// Who a call comes from, decided from the connection alone: the verified
// TLS client certificate on TCP, the peer's uid (SO_PEERCRED) on the unix
// socket. Nothing the peer says in a message or header changes it.

#include <string>

#include "absl/strings/string_view.h"

namespace ferry::controller {

enum class Role { kNone, kNode, kViewer, kEditor, kAdmin };

// "node", "viewer", "editor", "admin"; "none" for kNone.
absl::string_view RoleName(Role role);
// kNone for anything else.
Role ParseRole(absl::string_view name);

struct Principal {
  // Certificate CN ("node-a", "alice"), or "uid:N" on the unix socket, or
  // "anonymous" (TLS without a client certificate).
  std::string name;
  Role role = Role::kNone;
  // The peer address as gRPC gives it, for the audit log.
  std::string source;
  // The client certificate's serial (hex), empty on the unix socket.
  std::string serial;
  bool local = false;  // came over the unix socket
  // Why role is kNone ("no client certificate", "certificate ... is
  // revoked"), for the UNAUTHENTICATED error.
  std::string unauthenticated_reason;

  bool authenticated() const { return role != Role::kNone; }
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SECURITY_PRINCIPAL_H_
