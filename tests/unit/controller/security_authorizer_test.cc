// The role table of controller/security/authorizer.h, every role x verb x
// kind, and the text of a refusal.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/security/authorizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

const std::vector<Verb>& AllVerbs() {
  static const std::vector<Verb> verbs = {
      Verb::kGet,    Verb::kList,        Verb::kWatch,
      Verb::kApply,  Verb::kDelete,      Verb::kSync,
      Verb::kRenew,  Verb::kCreateToken, Verb::kCreateCredentials,
      Verb::kRevoke,
  };
  return verbs;
}

const std::vector<std::string>& AllKinds() {
  static const std::vector<std::string> kinds = {"IPForward", "Node", "Event", ""};
  return kinds;
}

Principal Named(const std::string& name, Role role) {
  Principal p;
  p.name = name;
  p.role = role;
  return p;
}

// The table, written out independently of the code under test.
bool Expected(Role role, Verb verb, const std::string& kind) {
  const bool read = verb == Verb::kGet || verb == Verb::kList || verb == Verb::kWatch;
  switch (role) {
    case Role::kAdmin:
      return true;
    case Role::kEditor:
      return read || ((verb == Verb::kApply || verb == Verb::kDelete) && kind == "IPForward");
    case Role::kViewer:
      return read;
    case Role::kNode:
      return verb == Verb::kSync || verb == Verb::kRenew;
    case Role::kNone:
      return false;
  }
  return false;
}

TEST(AuthorizerTest, EveryRoleVerbAndKindFollowsTheRoleTable) {
  for (Role role : {Role::kNode, Role::kViewer, Role::kEditor, Role::kAdmin}) {
    for (Verb verb : AllVerbs()) {
      for (const std::string& kind : AllKinds()) {
        absl::Status status = Authorize(Named("someone", role), verb, kind);
        const std::string where =
            absl::StrCat(RoleName(role), " ", VerbName(verb), " \"", kind, "\"");
        if (Expected(role, verb, kind)) {
          EXPECT_TRUE(status.ok()) << where << ": " << status;
        } else {
          EXPECT_TRUE(absl::IsPermissionDenied(status)) << where << ": " << status;
        }
      }
    }
  }
}

TEST(AuthorizerTest, ViewerMayReadEveryKind) {
  for (Verb verb : {Verb::kGet, Verb::kList, Verb::kWatch}) {
    for (const std::string& kind : AllKinds()) {
      EXPECT_TRUE(Authorize(Named("v", Role::kViewer), verb, kind).ok()) << VerbName(verb) << kind;
    }
  }
}

TEST(AuthorizerTest, EditorMayWriteForwardsButNotNodes) {
  const Principal editor = Named("ed", Role::kEditor);
  EXPECT_TRUE(Authorize(editor, Verb::kApply, "IPForward").ok());
  EXPECT_TRUE(Authorize(editor, Verb::kDelete, "IPForward").ok());
  EXPECT_TRUE(absl::IsPermissionDenied(Authorize(editor, Verb::kApply, "Node")));
  EXPECT_TRUE(absl::IsPermissionDenied(Authorize(editor, Verb::kDelete, "Node")));
  EXPECT_TRUE(absl::IsPermissionDenied(Authorize(editor, Verb::kCreateToken, "")));
}

TEST(AuthorizerTest, NodeMayOnlySyncAndRenew) {
  const Principal node = Named("node-a", Role::kNode);
  EXPECT_TRUE(Authorize(node, Verb::kSync, "").ok());
  EXPECT_TRUE(Authorize(node, Verb::kRenew, "").ok());
  EXPECT_TRUE(absl::IsPermissionDenied(Authorize(node, Verb::kGet, "IPForward")));
  EXPECT_TRUE(absl::IsPermissionDenied(Authorize(node, Verb::kApply, "Node")));
}

TEST(AuthorizerTest, AnonymousCallerIsUnauthenticatedForEveryVerb) {
  Principal anonymous;
  anonymous.name = "anonymous";
  for (Verb verb : AllVerbs()) {
    absl::Status status = Authorize(anonymous, verb, "IPForward");
    EXPECT_TRUE(absl::IsUnauthenticated(status)) << VerbName(verb) << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("no client certificate; "));
  }
}

TEST(AuthorizerTest, DenialNamesUserRoleVerbAndKind) {
  absl::Status status = Authorize(Named("bob", Role::kViewer), Verb::kApply, "IPForward");
  EXPECT_EQ(status.message(), "permission denied: user \"bob\" (viewer) may not apply IPForward");
}

TEST(AuthorizerTest, DenialOfAVerbWithoutKindEndsWithTheVerb) {
  absl::Status status = Authorize(Named("node-a", Role::kNode), Verb::kCreateToken, "");
  EXPECT_EQ(status.message(), "permission denied: user \"node-a\" (node) may not create-token");
}

TEST(AuthorizerTest, VerbNamesAreTheAuditSpellings) {
  std::vector<std::string> names;
  for (Verb verb : AllVerbs()) names.emplace_back(VerbName(verb));
  EXPECT_THAT(names,
              ::testing::ElementsAre("get", "list", "watch", "apply", "delete", "sync", "renew",
                                     "create-token", "create-credentials", "revoke"));
}

TEST(PrincipalTest, RoleNamesRoundTripAndUnknownIsNone) {
  for (Role role : {Role::kNode, Role::kViewer, Role::kEditor, Role::kAdmin}) {
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  }
  EXPECT_EQ(RoleName(Role::kNone), "none");
  EXPECT_EQ(ParseRole("root"), Role::kNone);
  EXPECT_EQ(ParseRole("Admin"), Role::kNone);
  EXPECT_EQ(ParseRole(""), Role::kNone);
}

}  // namespace
}  // namespace ferry::controller
