#include "controller/server/listeners.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ferry::controller {
namespace {

absl::Status Bad(absl::string_view entry, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--listen \"", entry, "\": ", why));
}

absl::StatusOr<ListenAddress> ParseOne(absl::string_view entry) {
  absl::string_view path = entry;
  if (absl::ConsumePrefix(&path, "unix:")) {
    if (path.empty()) return Bad(entry, "missing socket path after \"unix:\"");
    // gRPC reads "unix:///abs" as "/abs" too.
    absl::string_view fs_path = path;
    if (absl::ConsumePrefix(&fs_path, "//") && !absl::StartsWith(fs_path, "/")) {
      return Bad(entry, "expected unix:PATH or unix:///ABSOLUTE_PATH");
    }
    return ListenAddress{std::string(entry), std::string(fs_path)};
  }
  size_t colon = entry.rfind(':');
  if (colon == absl::string_view::npos) {
    return Bad(entry, "missing \":port\" (expected host:port or unix:PATH)");
  }
  absl::string_view host = entry.substr(0, colon);
  absl::string_view port_text = entry.substr(colon + 1);
  if (host.empty()) return Bad(entry, "missing host before \":port\"");
  if (host.find(':') != absl::string_view::npos &&
      !(absl::StartsWith(host, "[") && absl::EndsWith(host, "]"))) {
    return Bad(entry, "an IPv6 host must be in brackets, e.g. [::1]:7443");
  }
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) {
    return Bad(entry, "port must be a number from 0 to 65535");
  }
  return ListenAddress{std::string(entry), ""};
}

}  // namespace

absl::StatusOr<std::vector<ListenAddress>> ParseListenAddresses(
    const std::vector<std::string>& values) {
  std::vector<ListenAddress> out;
  for (const std::string& value : values) {
    for (absl::string_view entry : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      entry = absl::StripAsciiWhitespace(entry);
      absl::StatusOr<ListenAddress> address = ParseOne(entry);
      if (!address.ok()) return address.status();
      out.push_back(*std::move(address));
    }
  }
  if (out.empty()) return absl::InvalidArgumentError("--listen: no address given");
  return out;
}

std::vector<std::string> CollectFlagValues(int argc, char** argv, absl::string_view name) {
  std::vector<std::string> values;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "--")) {
      if (!absl::ConsumePrefix(&arg, "-")) continue;
    }
    if (!absl::ConsumePrefix(&arg, name)) continue;
    if (absl::ConsumePrefix(&arg, "=")) {
      values.emplace_back(arg);
    } else if (arg.empty() && i + 1 < argc) {
      values.emplace_back(argv[++i]);
    }
  }
  return values;
}

std::vector<std::string> NormalizeFlagDashes(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (int i = 1; i < argc; ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    size_t start = arg.find_first_not_of('-');
    size_t end = std::min(arg.find('='), arg.size());
    for (size_t j = start; j < end && start != std::string::npos; ++j) {
      if (arg[j] == '-') arg[j] = '_';
    }
  }
  return args;
}

}  // namespace ferry::controller
