#ifndef FERRY_API_LIB_FLAG_HELP_H_
#define FERRY_API_LIB_FLAG_HELP_H_

// The flag list in both daemons' --help, laid out alike whichever parser
// reads the flags (absl in the controller, a hand-written one in the agent):
//
//   --metrics-listen HOST:PORT
//       host:port to serve /metrics, /healthz and /readyz on (default: off)

#include <string>
#include <vector>

namespace ferry::api {

struct FlagHelp {
  std::string name;           // dashed, without "--"
  std::string value;          // placeholder such as "N" or "HOST:PORT"; "" for none
  std::string help;           // one paragraph, wrapped when printed
  std::string default_value;  // "" prints no default
};

// One entry per flag, in the given order, help wrapped to 80 columns.
std::string FormatFlagHelp(const std::vector<FlagHelp>& flags);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_FLAG_HELP_H_
