#include "controller/cli/security_args.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/cli/channel.h"

namespace ferry::cli {
namespace {

constexpr absl::string_view kUserRoles = "viewer, editor or admin";

// "HOST:PORT" with a numeric port: what a remote ferryctl will dial.
bool LooksLikeHostPort(absl::string_view server) {
  const size_t colon = server.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  const absl::string_view port = server.substr(colon + 1);
  return !port.empty() && std::all_of(port.begin(), port.end(), absl::ascii_isdigit);
}

// The NAME of credentials create / revoke.
absl::Status TakeSubject(absl::string_view word, const std::vector<std::string>& rest,
                         Command& command) {
  if (rest.empty()) {
    return UsageError(absl::StrCat(word, " needs a NAME: the user's name (the certificate's CN)"));
  }
  if (rest.size() > 1) {
    return UsageError(absl::StrCat(word, " takes one NAME, got ", rest.size(), " (\"",
                                   absl::StrJoin(rest, "\", \""), "\")"));
  }
  command.subject = rest[0];
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckSecurityArgs(absl::string_view word, const std::vector<std::string>& rest,
                               Command& command) {
  switch (command.verb) {
    case Verb::kTokenCreate:
      if (!rest.empty()) {
        return UsageError(absl::StrCat("token create takes no arguments, got \"", rest[0],
                                       "\" (use --node NAME)"));
      }
      if (command.node_name.empty()) {
        return UsageError("token create needs --node NAME: the node the token may join as");
      }
      return absl::OkStatus();
    case Verb::kCredentialsCreate:
      if (absl::Status s = TakeSubject(word, rest, command); !s.ok()) return s;
      if (command.role.empty()) {
        return UsageError(absl::StrCat("credentials create needs --role ", kUserRoles));
      }
      if (IsUnixTarget(command.credentials_server)) {
        return UsageError(absl::StrCat(
            "--server after 'credentials create' is the address written into the config and "
            "must be a TCP HOST:PORT others can reach, got \"",
            command.credentials_server,
            "\"; to talk to the controller over its unix socket, put --server before the "
            "command or set $FERRY_SERVER"));
      }
      if (!command.credentials_server.empty() && !LooksLikeHostPort(command.credentials_server)) {
        return UsageError(absl::StrCat("--server: want HOST:PORT (e.g. 192.0.2.100:7443), got \"",
                                       command.credentials_server, "\""));
      }
      return absl::OkStatus();
    case Verb::kCredentialsRevoke:
      return TakeSubject(word, rest, command);
    default:
      return absl::OkStatus();
  }
}

absl::Status ApplyRole(const Flag& flag, Command& command) {
  const std::string& role = flag.value;
  const bool user_role = role == "viewer" || role == "editor" || role == "admin";
  if (command.verb == Verb::kCredentialsRevoke) {
    if (!user_role && role != "node") {
      return UsageError(
          absl::StrCat(flag.spelled, ": want node, ", kUserRoles, ", got \"", role, "\""));
    }
  } else if (!user_role) {
    return UsageError(absl::StrCat(
        flag.spelled, ": want ", kUserRoles, ", got \"", role, "\"",
        role == "node" ? " (nodes get their certificates by joining with a token: ferryctl token "
                         "create --node NAME)"
                       : ""));
  }
  command.role = role;
  return absl::OkStatus();
}

}  // namespace ferry::cli
