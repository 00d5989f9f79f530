#include "api/lib/config_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "api/lib/files.h"

namespace ferry::api {
namespace {

// A config file is a few dozen lines; anything near this is a mistake.
constexpr size_t kMaxConfigBytes = size_t{1} << 20;

// The flag's name as the file and both daemons' flag parsers agree on it:
// dashed, whatever mix of '-' and '_' was written.
std::string CanonicalName(absl::string_view name) {
  return absl::StrReplaceAll(name, {{"_", "-"}});
}

// The flag named by a command-line argument ("--a_b=1", "-a-b" -> "a-b"),
// or "" for an argument that is no flag.
std::string FlagNameOf(absl::string_view arg) {
  if (!absl::ConsumePrefix(&arg, "-")) return "";
  absl::ConsumePrefix(&arg, "-");
  return CanonicalName(arg.substr(0, arg.find('=')));
}

absl::Status ErrorAt(const std::string& path, const YAML::Mark& mark, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", mark.line + 1, ": ", what));
}

// A scalar value as the command line would carry it; a null is "".
absl::StatusOr<std::string> ScalarText(const std::string& path, const std::string& key,
                                       const YAML::Node& value) {
  if (value.IsNull()) return std::string();
  if (!value.IsScalar()) {
    return ErrorAt(path, value.Mark(), absl::StrCat("\"", key, "\" must be a single value"));
  }
  return value.Scalar();
}

// A mapping (labels: {zone: eu}) as the k=v,k=v a flag takes.
absl::StatusOr<std::string> MappingText(const std::string& path, const std::string& key,
                                        const YAML::Node& value) {
  std::vector<std::string> pairs;
  for (const auto& kv : value) {
    if (!kv.first.IsScalar() || !(kv.second.IsScalar() || kv.second.IsNull())) {
      return ErrorAt(path, kv.first.Mark(),
                     absl::StrCat("\"", key, "\" entries must be key: value"));
    }
    pairs.push_back(absl::StrCat(kv.first.Scalar(), "=",
                                 kv.second.IsNull() ? std::string() : kv.second.Scalar()));
  }
  return absl::StrJoin(pairs, ",");
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ReadConfigFile(const std::string& path,
                                                        const std::vector<ConfigFlag>& flags) {
  absl::StatusOr<std::string> text = ReadFileToString(path, kMaxConfigBytes);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--config: ", text.status().message()));
  }
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  std::vector<std::string> args;
  if (root.IsNull()) return args;  // empty, or only comments
  if (!root.IsMap()) {
    return ErrorAt(path, root.Mark(), "expected a mapping of flag names to values");
  }
  std::set<std::string> seen;
  try {
    for (const auto& entry : root) {
      if (!entry.first.IsScalar()) {
        return ErrorAt(path, entry.first.Mark(), "keys must be flag names");
      }
      const std::string key = entry.first.Scalar();
      const std::string name = CanonicalName(key);
      auto flag = std::find_if(flags.begin(), flags.end(),
                               [&name](const ConfigFlag& f) { return f.name == name; });
      if (flag == flags.end() || name == "config") {
        return ErrorAt(path, entry.first.Mark(),
                       absl::StrCat("unknown key \"", key, "\" (keys are the flags' names, as in ",
                                    "--help, without the dashes)"));
      }
      if (!seen.insert(name).second) {
        return ErrorAt(path, entry.first.Mark(), absl::StrCat("\"", key, "\" given twice"));
      }
      const YAML::Node& value = entry.second;
      if (value.IsSequence()) {
        if (!flag->repeated) {
          return ErrorAt(path, value.Mark(),
                         absl::StrCat("\"", key, "\" takes one value, not a list"));
        }
        for (const YAML::Node& item : value) {
          absl::StatusOr<std::string> v = ScalarText(path, key, item);
          if (!v.ok()) return v.status();
          args.push_back(absl::StrCat("--", name, "=", *v));
        }
        continue;
      }
      absl::StatusOr<std::string> v =
          value.IsMap() ? MappingText(path, key, value) : ScalarText(path, key, value);
      if (!v.ok()) return v.status();
      args.push_back(absl::StrCat("--", name, "=", *v));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", e.mark.line + 1, ": ", e.msg));
  }
  return args;
}

absl::StatusOr<std::vector<std::string>> ExpandConfigFile(const std::vector<std::string>& args,
                                                          const std::vector<ConfigFlag>& flags) {
  std::vector<std::string> rest;
  std::string path;
  bool found = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      rest.insert(rest.end(), args.begin() + i, args.end());
      break;
    }
    if (FlagNameOf(arg) != "config") {
      rest.push_back(arg);
      continue;
    }
    if (found) return absl::InvalidArgumentError("--config: given more than once");
    found = true;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      path = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      path = args[++i];
    } else {
      return absl::InvalidArgumentError("--config: needs a file name");
    }
    if (path.empty()) return absl::InvalidArgumentError("--config: needs a file name");
  }
  if (!found) return args;
  absl::StatusOr<std::vector<std::string>> from_file = ReadConfigFile(path, flags);
  if (!from_file.ok()) return from_file.status();
  // A flag on the command line replaces the file's value, or the file's
  // whole list for a repeated flag, rather than adding to it.
  std::set<std::string> on_command_line;
  for (const std::string& arg : rest) {
    if (arg == "--") break;
    on_command_line.insert(FlagNameOf(arg));
  }
  std::vector<std::string> out;
  for (std::string& arg : *from_file) {
    if (on_command_line.count(FlagNameOf(arg)) == 0) out.push_back(std::move(arg));
  }
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

}  // namespace ferry::api
