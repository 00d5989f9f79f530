#include "node-agent/client/node_identity.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"

namespace ferry::agent {
namespace {

bool Transient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

std::string CreateTokenHint(absl::string_view node_name) {
  return absl::StrCat("create one with `ferryctl token create --node ", node_name,
                      "` and pass it with --join-token or --join-token-file");
}

}  // namespace

absl::StatusOr<NodeCredentials> LoadOrJoin(const IdentityOptions& options, absl::Time now,
                                           const JoinFunction& join, const SleepFunction& sleep,
                                           Backoff::RandomSource random) {
  absl::StatusOr<NodeCredentials> stored = ReadNodeCredentials(options.state_dir);
  absl::Status problem = stored.status();
  if (stored.ok()) problem = CheckNodeCredentials(*stored, options.node_name, now);
  if (problem.ok()) return stored;

  if (options.join_token.empty()) {
    if (absl::IsNotFound(problem)) {
      return absl::FailedPreconditionError(
          absl::StrCat("no credentials in ", options.state_dir,
                       " and no --join-token: ", CreateTokenHint(options.node_name)));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "the credentials in ", options.state_dir, " cannot be used (", problem.message(),
        ") and no --join-token was given: ", CreateTokenHint(options.node_name)));
  }
  if (!absl::IsNotFound(problem)) {
    LogWarning("replacing unusable credentials by joining with the token",
               {{"dir", options.state_dir}, {"problem", std::string(problem.message())}});
  }

  if (!random) random = [] { return 0.5; };
  Backoff backoff(options.backoff, std::move(random));
  while (true) {
    absl::StatusOr<NodeCredentials> joined = join();
    if (joined.ok()) {
      if (absl::Status s = StoreNodeCredentials(options.state_dir, *joined); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("joined, but cannot keep the credentials in ",
                                                   options.state_dir, ": ", s.message()));
      }
      LogInfo("joined; credentials stored", {{"dir", options.state_dir}});
      return joined;
    }
    if (!Transient(joined.status())) return joined.status();
    const absl::Duration delay = backoff.Next();
    LogWarning("join: controller not reached; retrying",
               {{"after", absl::FormatDuration(delay)},
                {"error", std::string(joined.status().message())}});
    if (!sleep(delay)) return absl::CancelledError("stopped while joining");
  }
}

}  // namespace ferry::agent
