#ifndef FERRY_CONTROLLER_SERVER_LISTENERS_H_
#define FERRY_CONTROLLER_SERVER_LISTENERS_H_

// Parsing of --listen: "host:port" or "unix:PATH", comma-separated, and the
// flag may be repeated.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::controller {

struct ListenAddress {
  std::string grpc_uri;   // as passed to ServerBuilder::AddListeningPort
  std::string unix_path;  // non-empty for unix sockets
};

// Splits every value on commas and validates each address. INVALID_ARGUMENT
// names the bad entry, e.g. `--listen "10.0.0.1": missing ":port"`.
absl::StatusOr<std::vector<ListenAddress>> ParseListenAddresses(
    const std::vector<std::string>& values);

// absl flags keep only the last occurrence of a flag; this collects every
// value of `--name=V`, `-name=V`, `--name V` and `-name V` before "--".
std::vector<std::string> CollectFlagValues(int argc, char** argv, absl::string_view name);

// absl flag names cannot contain '-'; rewrites `--data-dir=x` to
// `--data_dir=x` (only the name, and only before "--") so the documented
// dashed spellings work. Returns storage for the rewritten strings.
std::vector<std::string> NormalizeFlagDashes(int argc, char** argv);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_LISTENERS_H_
