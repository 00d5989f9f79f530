#include "controller/cli/command.h"

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "controller/cli/kinds.h"

namespace ferry::cli {
namespace {

using ferry::v1::ResourceKind;

struct FlagSpec {
  absl::string_view long_name;
  absl::string_view short_name;
  bool takes_value;
};

constexpr FlagSpec kFlags[] = {
    {"server", "", true},    {"request-timeout", "", true},   {"help", "h", false},
    {"filename", "f", true}, {"dry-run", "", false},          {"output", "o", true},
    {"selector", "l", true}, {"ignore-not-found", "", false}, {"all", "", false},
    {"for", "", true},       {"timeout", "", true},           {"watch", "w", false},
};

// Flags every command accepts.
constexpr absl::string_view kGlobalFlags[] = {"server", "request-timeout", "help"};

struct Flag {
  std::string name;     // long name
  std::string spelled;  // as typed, for messages
  std::string value;    // "true"/"false" for booleans
};

struct RawArgs {
  std::vector<Flag> flags;
  std::vector<std::string> positionals;
};

absl::Status UsageError(absl::string_view message) { return absl::InvalidArgumentError(message); }

const FlagSpec* FindFlag(absl::string_view name, bool is_short) {
  for (const FlagSpec& spec : kFlags) {
    if ((is_short ? spec.short_name : spec.long_name) == name && !name.empty()) {
      return &spec;
    }
  }
  return nullptr;
}

// Splits argv into flags and positionals; knows only the flags' shapes.
absl::StatusOr<RawArgs> Tokenize(const std::vector<std::string>& args) {
  RawArgs raw;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      raw.positionals.insert(raw.positionals.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      raw.positionals.push_back(arg);
      continue;
    }
    const bool is_short = arg[1] != '-';
    absl::string_view body = absl::string_view(arg).substr(is_short ? 1 : 2);
    std::optional<std::string> inline_value;
    absl::string_view name = body;
    if (is_short) {
      name = body.substr(0, 1);
      absl::string_view rest = body.substr(1);
      if (absl::ConsumePrefix(&rest, "=") || !rest.empty()) inline_value = std::string(rest);
    } else if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = body.substr(0, eq);
      inline_value = std::string(body.substr(eq + 1));
    }
    const std::string spelled = absl::StrCat(is_short ? "-" : "--", name);
    const FlagSpec* spec = FindFlag(name, is_short);
    if (spec == nullptr) {
      return UsageError(absl::StrCat("unknown flag \"", spelled, "\""));
    }
    Flag flag{std::string(spec->long_name), spelled, "true"};
    if (spec->takes_value) {
      if (inline_value.has_value()) {
        flag.value = *inline_value;
      } else if (i + 1 < args.size()) {
        flag.value = args[++i];
      } else {
        return UsageError(absl::StrCat("flag ", spelled, " needs a value"));
      }
    } else if (inline_value.has_value()) {
      const std::string v = absl::AsciiStrToLower(*inline_value);
      if (v != "true" && v != "false") {
        return UsageError(
            absl::StrCat("flag ", spelled, ": want true or false, got \"", *inline_value, "\""));
      }
      flag.value = v;
    }
    raw.flags.push_back(std::move(flag));
  }
  return raw;
}

absl::StatusOr<absl::Duration> ParseDurationFlag(const Flag& flag, bool allow_zero) {
  absl::Duration d;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(flag.value, &seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(flag.value, &d)) {
    return UsageError(
        absl::StrCat(flag.spelled, ": want a duration like 30s or 2m, got \"", flag.value, "\""));
  }
  if (d < absl::ZeroDuration() || (!allow_zero && d == absl::ZeroDuration())) {
    return UsageError(absl::StrCat(flag.spelled, ": must be ",
                                   allow_zero ? "zero or positive" : "positive", ", got \"",
                                   flag.value, "\""));
  }
  return d;
}

absl::StatusOr<OutputFormat> ParseOutput(const Flag& flag) {
  if (flag.value == "yaml") return OutputFormat::kYaml;
  if (flag.value == "json") return OutputFormat::kJson;
  if (flag.value == "wide") return OutputFormat::kWide;
  if (flag.value == "name") return OutputFormat::kName;
  return UsageError(absl::StrCat(flag.spelled, ": unknown output format \"", flag.value,
                                 "\" (want yaml, json, wide or name)"));
}

absl::Status CheckSelector(const Flag& flag) {
  for (absl::string_view term : absl::StrSplit(flag.value, ',')) {
    std::vector<absl::string_view> kv = absl::StrSplit(term, absl::MaxSplits('=', 1));
    if (kv.size() != 2 || kv[0].empty() || absl::StrContains(kv[1], '=')) {
      return UsageError(
          absl::StrCat(flag.spelled, ": want key=value[,key=value], got \"", term, "\""));
    }
  }
  return absl::OkStatus();
}

// get events --for forward/NAME or node/NAME.
absl::StatusOr<EventTarget> ParseEventsFor(const Flag& flag) {
  std::vector<std::string> parts = absl::StrSplit(flag.value, absl::MaxSplits('/', 1));
  absl::StatusOr<ResourceKind> kind =
      parts.size() == 2 && !parts[1].empty() ? ParseKind(parts[0]) : absl::InvalidArgumentError("");
  if (!kind.ok() || *kind == ferry::v1::EVENT) {
    return UsageError(
        absl::StrCat(flag.spelled, ": want forward/NAME or node/NAME, got \"", flag.value, "\""));
  }
  return EventTarget{*kind, parts[1]};
}

absl::StatusOr<WaitCondition> ParseWaitFor(const Flag& flag) {
  WaitCondition wait;
  if (flag.value == "delete") {
    wait.for_delete = true;
    return wait;
  }
  std::vector<std::string> parts = absl::StrSplit(flag.value, '=');
  if (parts.size() < 2 || parts.size() > 3 || parts[0] != "condition" || parts[1].empty() ||
      (parts.size() == 3 && parts[2].empty())) {
    return UsageError(absl::StrCat(flag.spelled, ": want condition=NAME[=VALUE] or delete, got \"",
                                   flag.value, "\""));
  }
  wait.condition_type = parts[1];
  if (parts.size() == 3) wait.condition_status = parts[2];
  return wait;
}

// Reads "KIND [NAME...]" or "KIND/NAME [KIND/NAME...]" (one kind).
absl::Status ParseTargets(absl::string_view verb, const std::vector<std::string>& args,
                          Command& command) {
  if (args.empty()) {
    return UsageError(absl::StrCat(verb, " needs a resource type (forwards or nodes)"));
  }
  if (!absl::StrContains(args[0], '/')) {
    absl::StatusOr<ResourceKind> kind = ParseKind(args[0]);
    if (!kind.ok()) return kind.status();
    command.kind = *kind;
    for (size_t i = 1; i < args.size(); ++i) {
      if (absl::StrContains(args[i], '/')) {
        return UsageError(absl::StrCat("\"", args[i], "\": give either TYPE NAME or TYPE/NAME"));
      }
      command.names.push_back(args[i]);
    }
    return absl::OkStatus();
  }
  for (const std::string& arg : args) {
    std::vector<std::string> parts = absl::StrSplit(arg, absl::MaxSplits('/', 1));
    if (parts.size() != 2 || parts[1].empty()) {
      return UsageError(absl::StrCat("\"", arg, "\": want TYPE/NAME, e.g. forward/web"));
    }
    absl::StatusOr<ResourceKind> kind = ParseKind(parts[0]);
    if (!kind.ok()) return kind.status();
    if (command.kind != ferry::v1::RESOURCE_KIND_UNSPECIFIED && command.kind != *kind) {
      return UsageError(absl::StrCat(verb, ": all arguments must be of one resource type"));
    }
    command.kind = *kind;
    command.names.push_back(parts[1]);
  }
  return absl::OkStatus();
}

absl::StatusOr<Verb> ParseVerb(absl::string_view word) {
  if (word == "apply") return Verb::kApply;
  if (word == "get") return Verb::kGet;
  if (word == "describe") return Verb::kDescribe;
  if (word == "delete") return Verb::kDelete;
  if (word == "wait") return Verb::kWait;
  if (word == "version") return Verb::kVersion;
  if (word == "help") return Verb::kHelp;
  return UsageError(absl::StrCat("unknown command \"", word, "\" (run 'ferryctl help')"));
}

std::vector<absl::string_view> VerbFlags(Verb verb) {
  switch (verb) {
    case Verb::kApply:
      return {"filename", "dry-run"};
    case Verb::kGet:
      return {"output", "selector", "watch", "for", "timeout"};
    case Verb::kDelete:
      return {"filename", "ignore-not-found"};
    case Verb::kWait:
      return {"all", "for", "timeout"};
    default:
      return {};
  }
}

bool Allowed(Verb verb, absl::string_view flag) {
  std::vector<absl::string_view> allowed = VerbFlags(verb);
  allowed.insert(allowed.end(), std::begin(kGlobalFlags), std::end(kGlobalFlags));
  return std::find(allowed.begin(), allowed.end(), flag) != allowed.end();
}

// Checks what each verb needs once its flags are applied.
absl::Status CheckVerbArgs(absl::string_view word, const std::vector<std::string>& rest,
                           Command& command) {
  switch (command.verb) {
    case Verb::kApply:
      if (!rest.empty()) {
        return UsageError(
            absl::StrCat("apply takes no arguments, got \"", rest[0], "\" (use -f FILE)"));
      }
      if (command.files.empty()) return UsageError("apply needs -f FILE, DIR or -");
      return absl::OkStatus();
    case Verb::kGet:
    case Verb::kDescribe:
      if (absl::Status s = ParseTargets(word, rest, command); !s.ok()) return s;
      if (command.verb == Verb::kDescribe && command.kind == ferry::v1::EVENT) {
        return UsageError("describe does not take events; use 'get events' or describe the object");
      }
      if (command.events_for.kind != ferry::v1::RESOURCE_KIND_UNSPECIFIED &&
          command.kind != ferry::v1::EVENT) {
        return UsageError("--for only applies to 'get events'");
      }
      if (command.watch_timeout != absl::InfiniteDuration() && !command.watch) {
        return UsageError("--timeout only applies to 'get -w'");
      }
      if (command.watch && command.output == OutputFormat::kName) {
        return UsageError("-w cannot be combined with -o name");
      }
      if (command.names.size() > 1) {
        return UsageError(
            absl::StrCat(word, " takes at most one name, got ", command.names.size()));
      }
      if (!command.names.empty() && !command.label_selector.empty()) {
        return UsageError("-l cannot be combined with a name");
      }
      return absl::OkStatus();
    case Verb::kDelete:
      if (!command.files.empty()) {
        if (!rest.empty()) {
          return UsageError("delete takes either -f FILE or TYPE NAME, not both");
        }
        return absl::OkStatus();
      }
      if (absl::Status s = ParseTargets(word, rest, command); !s.ok()) return s;
      if (command.names.empty()) {
        return UsageError("delete needs a name (delete forward NAME) or -f FILE");
      }
      return absl::OkStatus();
    case Verb::kWait:
      if (absl::Status s = ParseTargets(word, rest, command); !s.ok()) return s;
      if (command.kind == ferry::v1::EVENT) return UsageError("wait does not take events");
      if (command.all == !command.names.empty()) {
        return UsageError("wait needs either names (forward/NAME) or --all");
      }
      if (!command.wait_for.for_delete && command.wait_for.condition_type.empty()) {
        return UsageError("wait needs --for=condition=NAME or --for=delete");
      }
      return absl::OkStatus();
    case Verb::kVersion:
      if (!rest.empty()) {
        return UsageError(absl::StrCat("version takes no arguments, got \"", rest[0], "\""));
      }
      return absl::OkStatus();
    case Verb::kHelp:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status ApplyFlag(const Flag& flag, Command& command) {
  const std::string& name = flag.name;
  if (name == "server") {
    if (flag.value.empty()) return UsageError("--server: must not be empty");
    command.server = flag.value;
  } else if (name == "request-timeout") {
    absl::StatusOr<absl::Duration> d = ParseDurationFlag(flag, /*allow_zero=*/false);
    if (!d.ok()) return d.status();
    command.request_timeout = *d;
  } else if (name == "filename") {
    if (flag.value.empty()) return UsageError(absl::StrCat(flag.spelled, ": must not be empty"));
    command.files.push_back(flag.value);
  } else if (name == "dry-run") {
    command.dry_run = flag.value == "true";
  } else if (name == "ignore-not-found") {
    command.ignore_not_found = flag.value == "true";
  } else if (name == "all") {
    command.all = flag.value == "true";
  } else if (name == "output") {
    absl::StatusOr<OutputFormat> format = ParseOutput(flag);
    if (!format.ok()) return format.status();
    command.output = *format;
  } else if (name == "selector") {
    if (absl::Status s = CheckSelector(flag); !s.ok()) return s;
    command.label_selector = flag.value;
  } else if (name == "watch") {
    command.watch = flag.value == "true";
  } else if (name == "for" && command.verb == Verb::kGet) {
    absl::StatusOr<EventTarget> target = ParseEventsFor(flag);
    if (!target.ok()) return target.status();
    command.events_for = *target;
  } else if (name == "for") {
    absl::StatusOr<WaitCondition> wait = ParseWaitFor(flag);
    if (!wait.ok()) return wait.status();
    command.wait_for = *wait;
  } else if (name == "timeout") {
    absl::StatusOr<absl::Duration> d =
        ParseDurationFlag(flag, /*allow_zero=*/command.verb != Verb::kGet);
    if (!d.ok()) return d.status();
    (command.verb == Verb::kGet ? command.watch_timeout : command.wait_timeout) = *d;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Command> ParseCommandLine(const std::vector<std::string>& args,
                                         absl::string_view env_server) {
  absl::StatusOr<RawArgs> raw = Tokenize(args);
  if (!raw.ok()) return raw.status();

  Command command;
  if (!env_server.empty()) command.server = std::string(env_server);
  const bool wants_help = std::any_of(raw->flags.begin(), raw->flags.end(),
                                      [](const Flag& f) { return f.name == "help"; });
  if (raw->positionals.empty()) {
    if (wants_help) return command;
    return UsageError("missing command (run 'ferryctl help')");
  }
  const std::string word = raw->positionals[0];
  absl::StatusOr<Verb> verb = ParseVerb(word);
  if (!verb.ok()) return verb.status();
  command.verb = *verb;
  for (const Flag& flag : raw->flags) {
    if (!Allowed(command.verb, flag.name)) {
      return UsageError(absl::StrCat("unknown flag \"", flag.spelled, "\" for \"", word, "\""));
    }
    if (absl::Status s = ApplyFlag(flag, command); !s.ok()) return s;
  }
  if (wants_help) {
    command.verb = Verb::kHelp;
    return command;
  }
  const std::vector<std::string> rest(raw->positionals.begin() + 1, raw->positionals.end());
  if (absl::Status s = CheckVerbArgs(word, rest, command); !s.ok()) return s;
  return command;
}

}  // namespace ferry::cli
