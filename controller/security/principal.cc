#include "controller/security/principal.h"

namespace ferry::controller {

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNode:
      return "node";
    case Role::kViewer:
      return "viewer";
    case Role::kEditor:
      return "editor";
    case Role::kAdmin:
      return "admin";
    case Role::kNone:
      break;
  }
  return "none";
}

Role ParseRole(absl::string_view name) {
  if (name == "node") return Role::kNode;
  if (name == "viewer") return Role::kViewer;
  if (name == "editor") return Role::kEditor;
  if (name == "admin") return Role::kAdmin;
  return Role::kNone;
}

}  // namespace ferry::controller
