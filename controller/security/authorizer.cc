#include "controller/security/authorizer.h"

#include "absl/strings/str_cat.h"

namespace ferry::controller {
namespace {

bool IsRead(Verb verb) { return verb == Verb::kGet || verb == Verb::kList || verb == Verb::kWatch; }

// The role table of authorizer.h. Roles are not a hierarchy in code: each
// states what it may do, so widening one never widens another by accident.
bool Allowed(Role role, Verb verb, absl::string_view kind) {
  if (verb == Verb::kVersion) return role != Role::kNone;
  switch (role) {
    case Role::kAdmin:
      return true;
    case Role::kEditor:
      if (IsRead(verb)) return true;
      return (verb == Verb::kApply || verb == Verb::kDelete) && kind == "IPForward";
    case Role::kViewer:
      return IsRead(verb);
    case Role::kNode:
      return verb == Verb::kSync || verb == Verb::kRenew;
    case Role::kNone:
      break;
  }
  return false;
}

}  // namespace

absl::string_view VerbName(Verb verb) {
  switch (verb) {
    case Verb::kGet:
      return "get";
    case Verb::kList:
      return "list";
    case Verb::kWatch:
      return "watch";
    case Verb::kApply:
      return "apply";
    case Verb::kDelete:
      return "delete";
    case Verb::kSync:
      return "sync";
    case Verb::kRenew:
      return "renew";
    case Verb::kCreateToken:
      return "create-token";
    case Verb::kCreateCredentials:
      return "create-credentials";
    case Verb::kRevoke:
      return "revoke";
    case Verb::kVersion:
      return "version";
  }
  return "unknown";
}

absl::Status Authorize(const Principal& principal, Verb verb, absl::string_view kind) {
  if (!principal.authenticated() && !principal.unauthenticated_reason.empty() &&
      principal.unauthenticated_reason != "no client certificate") {
    // A certificate was presented but does not count (revoked, no role):
    // say so, or its holder would hunt for a missing certificate.
    return absl::UnauthenticatedError(absl::StrCat("cannot ", VerbName(verb),
                                                   kind.empty() ? "" : " ", kind, ": ",
                                                   principal.unauthenticated_reason));
  }
  if (!principal.authenticated()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "cannot ", VerbName(verb), kind.empty() ? "" : " ", kind,
        ": the call came with no client certificate; use a config from \"ferryctl "
        "credentials create\" (ferryctl --config FILE), or the controller's unix socket"));
  }
  if (Allowed(principal.role, verb, kind)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("permission denied: user \"", principal.name,
                                                  "\" (", RoleName(principal.role), ") may not ",
                                                  VerbName(verb), kind.empty() ? "" : " ", kind));
}

}  // namespace ferry::controller
