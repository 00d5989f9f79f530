#ifndef FERRY_API_LIB_CONFIG_FILE_H_
#define FERRY_API_LIB_CONFIG_FILE_H_

// A daemon's `--config FILE`: a YAML mapping whose keys are the daemon's
// flag names in dashed form, turned into flags placed before the command
// line's, so that the command line overrides the file:
//
//   metrics-listen: 127.0.0.1:9100
//   alert-webhook: [https://a.example/hook, https://b.example/hook]
//   labels: {zone: eu, role: edge}      # a mapping becomes k=v,k=v
//
// Both daemons (whatever parses their flags afterwards) share it, so the
// file means the same to each.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::api {

struct ConfigFlag {
  std::string name;  // dashed, without "--"
  // May be given more than once; the file then takes a YAML sequence.
  // Any flag given on the command line replaces the file's value or list.
  bool repeated = false;
};

// The flags that `path` sets, as "--name=value" in the file's order.
// INVALID_ARGUMENT "FILE:LINE: ..." for a key that is no flag (or is
// "config"), a sequence for a flag that is not repeated, or a value that is
// not a scalar; an unreadable or non-YAML file names the file.
absl::StatusOr<std::vector<std::string>> ReadConfigFile(const std::string& path,
                                                        const std::vector<ConfigFlag>& flags);

// `args` (without argv[0]) with "--config FILE" / "--config=FILE" taken
// out and the file's flags put first. Flags after "--" are left alone. No
// --config: `args` as they are.
absl::StatusOr<std::vector<std::string>> ExpandConfigFile(const std::vector<std::string>& args,
                                                          const std::vector<ConfigFlag>& flags);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_CONFIG_FILE_H_
