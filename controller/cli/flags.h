#ifndef FERRY_CONTROLLER_CLI_FLAGS_H_
#define FERRY_CONTROLLER_CLI_FLAGS_H_

// ferryctl's flags: which ones exist and how they are spelled (Tokenize),
// and how their values are read. Which verb takes which flag, and what the
// values mean together, is command.cc's business.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "controller/cli/command.h"
#include "controller/cli/events.h"

namespace ferry::cli {

struct Flag {
  std::string name;     // long name
  std::string spelled;  // as typed, for messages
  std::string value;    // "true"/"false" for booleans
  // Given before the command word (`ferryctl --server X get ...`). Only
  // `credentials create` cares: there a --server after the command is the
  // server written into the new config, not the one ferryctl talks to.
  bool before_command = false;
};

struct RawArgs {
  std::vector<Flag> flags;
  std::vector<std::string> positionals;
};

// INVALID_ARGUMENT: what every usage error is.
absl::Status UsageError(absl::string_view message);

// Splits argv into flags and positionals; knows only the flags' shapes.
absl::StatusOr<RawArgs> Tokenize(const std::vector<std::string>& args);

// "30s", "2m" or a number of seconds; negative is refused, and zero too
// unless `allow_zero`.
absl::StatusOr<absl::Duration> ParseDurationFlag(const Flag& flag, bool allow_zero);

// A certificate or token lifetime: a Go-style duration ("1h", "90m") with
// days allowed in front ("90d", "1d12h"), since credentials are counted in
// days. Must be at least a second.
absl::StatusOr<absl::Duration> ParseTtlFlag(const Flag& flag);

// -o: yaml, json, wide, name, jsonpath=TEMPLATE or custom-columns=SPEC; the
// template (checked here) goes to `output_template`.
absl::StatusOr<OutputFormat> ParseOutput(const Flag& flag, std::string* output_template = nullptr);
absl::Status CheckSelector(const Flag& flag);
// get events --for forward/NAME or node/NAME.
absl::StatusOr<EventTarget> ParseEventsFor(const Flag& flag);
// wait --for=condition=NAME[=VALUE] or --for=delete.
absl::StatusOr<WaitCondition> ParseWaitFor(const Flag& flag);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_FLAGS_H_
