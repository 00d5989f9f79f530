#ifndef FERRY_CONTROLLER_CLI_COMPLETION_H_
#define FERRY_CONTROLLER_CLI_COMPLETION_H_

// `ferryctl completion bash|zsh`: a script completing verbs, resource
// types, flags and -o values, and object names by running
// `ferryctl get TYPE -o name` at completion time (with the --server and
// --config already typed).

#include <string>

#include "absl/strings/string_view.h"

namespace ferry::cli {

// "bash" or "zsh" (the parser has checked).
std::string CompletionScript(absl::string_view shell);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_COMPLETION_H_
