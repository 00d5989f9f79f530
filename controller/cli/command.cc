#include "controller/cli/command.h"

#include <algorithm>
#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/lib/validation.h"
#include "controller/cli/flags.h"
#include "controller/cli/jsonpath.h"
#include "controller/cli/kinds.h"
#include "controller/cli/security_args.h"

namespace ferry::cli {
namespace {

using ferry::v1::ResourceKind;

// Flags every command accepts.
// (--version is taken only without a command: `ferryctl --version`.)
constexpr absl::string_view kGlobalFlags[] = {"server", "request-timeout", "help", "config"};

absl::Status CheckSortBy(absl::string_view path) { return JsonPath::Parse(path).status(); }

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

// The verb and the words that named it ("token create" is two).
struct VerbWords {
  Verb verb;
  std::string word;  // for messages
  std::ptrdiff_t count;
};

absl::StatusOr<VerbWords> ParseVerb(const std::vector<std::string>& positionals, bool wants_help) {
  const std::string& word = positionals[0];
  if (word == "token" || word == "credentials") {
    const bool token = word == "token";
    const absl::string_view subcommands = token ? "create" : "create or revoke";
    if (positionals.size() < 2) {
      if (wants_help) return VerbWords{Verb::kHelp, word, 1};
      return UsageError(absl::StrCat(word, " needs a subcommand: ", subcommands));
    }
    const std::string& sub = positionals[1];
    const std::string both = absl::StrCat(word, " ", sub);
    if (sub == "create") {
      return VerbWords{token ? Verb::kTokenCreate : Verb::kCredentialsCreate, both, 2};
    }
    if (!token && sub == "revoke") return VerbWords{Verb::kCredentialsRevoke, both, 2};
    return UsageError(
        absl::StrCat("unknown command \"", both, "\" (", word, " takes ", subcommands, ")"));
  }
  if (word == "apply") return VerbWords{Verb::kApply, word, 1};
  if (word == "diff") return VerbWords{Verb::kDiff, word, 1};
  if (word == "get") return VerbWords{Verb::kGet, word, 1};
  if (word == "describe") return VerbWords{Verb::kDescribe, word, 1};
  if (word == "delete") return VerbWords{Verb::kDelete, word, 1};
  if (word == "wait") return VerbWords{Verb::kWait, word, 1};
  if (word == "label") return VerbWords{Verb::kLabel, word, 1};
  if (word == "version") return VerbWords{Verb::kVersion, word, 1};
  if (word == "explain") return VerbWords{Verb::kExplain, word, 1};
  if (word == "edit") return VerbWords{Verb::kEdit, word, 1};
  if (word == "completion") return VerbWords{Verb::kCompletion, word, 1};
  if (word == "help") return VerbWords{Verb::kHelp, word, 1};
  return UsageError(absl::StrCat("unknown command \"", word, "\" (run 'ferryctl help')"));
}

std::vector<absl::string_view> VerbFlags(Verb verb) {
  switch (verb) {
    case Verb::kApply:
      return {"filename", "dry-run"};
    case Verb::kDiff:
      return {"filename"};
    case Verb::kGet:
      return {"output",  "selector",   "watch",       "for",
              "timeout", "no-headers", "show-labels", "sort-by"};
    case Verb::kDelete:
      return {"filename", "ignore-not-found", "all", "selector"};
    case Verb::kVersion:
      return {"client"};
    case Verb::kWait:
      return {"all", "for", "timeout", "selector"};
    case Verb::kDescribe:
      return {"selector"};
    case Verb::kLabel:
      return {"overwrite"};
    case Verb::kTokenCreate:
      return {"node", "ttl"};
    case Verb::kCredentialsCreate:
      return {"role", "ttl", "output"};
    case Verb::kCredentialsRevoke:
      return {"role"};
    default:
      return {};
  }
}

bool Allowed(Verb verb, absl::string_view flag) {
  std::vector<absl::string_view> allowed = VerbFlags(verb);
  allowed.insert(allowed.end(), std::begin(kGlobalFlags), std::end(kGlobalFlags));
  return std::find(allowed.begin(), allowed.end(), flag) != allowed.end();
}

// label TYPE NAME CHANGE... or label TYPE/NAME CHANGE..., where a change
// is KEY=VALUE (set) or KEY- (remove).
absl::Status ParseLabelArgs(const std::vector<std::string>& rest, Command& command) {
  const size_t targets = !rest.empty() && absl::StrContains(rest[0], '/') ? 1 : 2;
  if (rest.size() <= targets) {
    return UsageError(
        "label needs TYPE NAME and at least one change, e.g. label node node-a tier=edge or "
        "tier-");
  }
  const std::vector<std::string> target(rest.begin(), rest.begin() + targets);
  if (absl::Status s = ParseTargets("label", target, command); !s.ok()) return s;
  if (command.kind == ferry::v1::EVENT) return UsageError("label does not take events");
  for (size_t i = targets; i < rest.size(); ++i) {
    const std::string& arg = rest[i];
    Command::LabelChange change;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      change.key = arg.substr(0, eq);
      change.value = arg.substr(eq + 1);
    } else if (absl::EndsWith(arg, "-")) {
      change.key = arg.substr(0, arg.size() - 1);
    } else {
      return UsageError(
          absl::StrCat("\"", arg, "\": want KEY=VALUE to set a label or KEY- to remove it"));
    }
    if (absl::Status s = api::ValidateLabelKey(change.key); !s.ok()) {
      return UsageError(absl::StrCat("\"", arg, "\": ", s.message()));
    }
    if (change.value.has_value()) {
      if (absl::Status s = api::ValidateLabelValue(*change.value); !s.ok()) {
        return UsageError(absl::StrCat("\"", arg, "\": ", s.message()));
      }
    }
    for (const Command::LabelChange& earlier : command.label_changes) {
      if (earlier.key == change.key) {
        return UsageError(absl::StrCat("label \"", change.key, "\" is changed twice"));
      }
    }
    command.label_changes.push_back(std::move(change));
  }
  return absl::OkStatus();
}

// Checks what each verb needs once its flags are applied.
absl::Status CheckVerbArgs(absl::string_view word, const std::vector<std::string>& rest,
                           Command& command) {
  switch (command.verb) {
    case Verb::kApply:
    case Verb::kDiff:
      if (!rest.empty()) {
        return UsageError(
            absl::StrCat(word, " takes no arguments, got \"", rest[0], "\" (use -f FILE)"));
      }
      if (command.files.empty()) return UsageError(absl::StrCat(word, " needs -f FILE, DIR or -"));
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
      if (command.names.size() > 1 &&
          (command.verb == Verb::kDescribe || command.watch || command.kind == ferry::v1::EVENT)) {
        return UsageError(absl::StrCat(word, command.watch ? " -w" : "",
                                       " takes at most one name, got ", command.names.size()));
      }
      if (!command.names.empty() && !command.label_selector.empty()) {
        return UsageError("-l cannot be combined with a name");
      }
      if (command.watch && !command.sort_by.empty()) {
        return UsageError("--sort-by cannot be combined with -w");
      }
      return absl::OkStatus();
    case Verb::kDelete:
      if (!command.files.empty()) {
        if (!rest.empty() || command.all || !command.label_selector.empty()) {
          return UsageError(
              "delete takes either -f FILE or TYPE NAME... (or TYPE --all, TYPE -l), not both");
        }
        return absl::OkStatus();
      }
      if (absl::Status s = ParseTargets(word, rest, command); !s.ok()) return s;
      if (command.kind == ferry::v1::EVENT) return UsageError("delete does not take events");
      if (command.all && !command.label_selector.empty()) {
        return UsageError("--all cannot be combined with -l (--all deletes every object)");
      }
      if ((command.all || !command.label_selector.empty()) && !command.names.empty()) {
        return UsageError(
            absl::StrCat(command.all ? "--all" : "-l", " cannot be combined with names"));
      }
      if (command.names.empty() && !command.all && command.label_selector.empty()) {
        return UsageError(
            "delete needs a name (delete forward NAME), --all, -l SELECTOR or -f FILE");
      }
      return absl::OkStatus();
    case Verb::kWait:
      if (absl::Status s = ParseTargets(word, rest, command); !s.ok()) return s;
      if (command.kind == ferry::v1::EVENT) return UsageError("wait does not take events");
      if ((command.all || !command.label_selector.empty()) == !command.names.empty()) {
        return UsageError("wait needs either names (forward/NAME), --all or -l SELECTOR");
      }
      if (!command.wait_for.for_delete && command.wait_for.condition_type.empty()) {
        return UsageError("wait needs --for=condition=NAME or --for=delete");
      }
      return absl::OkStatus();
    case Verb::kLabel:
      return ParseLabelArgs(rest, command);
    case Verb::kVersion:
      if (!rest.empty()) {
        return UsageError(absl::StrCat("version takes no arguments, got \"", rest[0], "\""));
      }
      return absl::OkStatus();
    case Verb::kExplain: {
      if (rest.size() != 1) {
        return UsageError(
            "explain needs one TYPE[.FIELD...], e.g. explain ipforward.spec.frontend");
      }
      const std::vector<std::string> parts = absl::StrSplit(rest[0], absl::MaxSplits('.', 1));
      absl::StatusOr<ResourceKind> kind = ParseKind(parts[0]);
      if (!kind.ok()) return kind.status();
      command.kind = *kind;
      if (parts.size() == 2) {
        if (parts[1].empty())
          return UsageError(absl::StrCat("\"", rest[0], "\": empty field path"));
        command.explain_path = parts[1];
      }
      return absl::OkStatus();
    }
    case Verb::kEdit:
      if (absl::Status s = ParseTargets(word, rest, command); !s.ok()) return s;
      if (command.kind == ferry::v1::EVENT) return UsageError("edit does not take events");
      if (command.names.size() != 1) {
        return UsageError(
            absl::StrCat("edit takes one object (edit forward/NAME), got ", command.names.size()));
      }
      return absl::OkStatus();
    case Verb::kCompletion:
      if (rest.size() != 1 || (rest[0] != "bash" && rest[0] != "zsh")) {
        return UsageError("completion needs a shell: bash or zsh");
      }
      command.shell = rest[0];
      return absl::OkStatus();
    case Verb::kHelp:
      return absl::OkStatus();
    case Verb::kTokenCreate:
    case Verb::kCredentialsCreate:
    case Verb::kCredentialsRevoke:
      return CheckSecurityArgs(word, rest, command);
  }
  return absl::OkStatus();
}

absl::Status ApplyFlag(const Flag& flag, Command& command) {
  const std::string& name = flag.name;
  if (name == "server") {
    if (flag.value.empty()) return UsageError("--server: must not be empty");
    if (command.verb == Verb::kCredentialsCreate && !flag.before_command) {
      command.credentials_server = flag.value;
    } else {
      command.server = flag.value;
      command.server_source = ServerSource::kFlag;
    }
  } else if (name == "config") {
    if (flag.value.empty()) return UsageError("--config: must not be empty");
    command.config_path = flag.value;
  } else if (name == "node") {
    if (flag.value.empty()) return UsageError("--node: must not be empty");
    command.node_name = flag.value;
  } else if (name == "ttl") {
    absl::StatusOr<absl::Duration> ttl = ParseTtlFlag(flag);
    if (!ttl.ok()) return ttl.status();
    command.ttl = *ttl;
  } else if (name == "role") {
    return ApplyRole(flag, command);
  } else if (name == "output" && command.verb == Verb::kCredentialsCreate) {
    if (flag.value.empty()) return UsageError(absl::StrCat(flag.spelled, ": must not be empty"));
    command.output_file = flag.value;
  } else if (name == "request-timeout") {
    absl::StatusOr<absl::Duration> d = ParseDurationFlag(flag, /*allow_zero=*/false);
    if (!d.ok()) return d.status();
    command.request_timeout = *d;
    command.request_timeout_set = true;
  } else if (name == "filename") {
    if (flag.value.empty()) return UsageError(absl::StrCat(flag.spelled, ": must not be empty"));
    command.files.push_back(flag.value);
  } else if (name == "dry-run") {
    command.dry_run = flag.value == "true";
  } else if (name == "overwrite") {
    command.overwrite = flag.value == "true";
  } else if (name == "ignore-not-found") {
    command.ignore_not_found = flag.value == "true";
  } else if (name == "all") {
    command.all = flag.value == "true";
  } else if (name == "output") {
    absl::StatusOr<OutputFormat> format = ParseOutput(flag, &command.output_template);
    if (!format.ok()) return format.status();
    command.output = *format;
  } else if (name == "no-headers") {
    command.no_headers = flag.value == "true";
  } else if (name == "show-labels") {
    command.show_labels = flag.value == "true";
  } else if (name == "client") {
    command.client_only = flag.value == "true";
  } else if (name == "sort-by") {
    if (flag.value.empty()) return UsageError("--sort-by: want a path, e.g. .metadata.name");
    if (absl::Status s = CheckSortBy(flag.value); !s.ok()) {
      return UsageError(absl::StrCat("--sort-by: ", s.message()));
    }
    command.sort_by = flag.value;
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

bool IsSecurityVerb(Verb verb) {
  return verb == Verb::kTokenCreate || verb == Verb::kCredentialsCreate ||
         verb == Verb::kCredentialsRevoke;
}

absl::StatusOr<Command> ParseCommandLine(const std::vector<std::string>& args,
                                         absl::string_view env_server) {
  absl::StatusOr<RawArgs> raw = Tokenize(args);
  if (!raw.ok()) return raw.status();

  Command command;
  if (!env_server.empty()) {
    command.server = std::string(env_server);
    command.server_source = ServerSource::kEnvironment;
  }
  const bool wants_help = std::any_of(raw->flags.begin(), raw->flags.end(),
                                      [](const Flag& f) { return f.name == "help"; });
  if (raw->positionals.empty()) {
    if (wants_help) return command;
    if (std::any_of(raw->flags.begin(), raw->flags.end(),
                    [](const Flag& f) { return f.name == "version" && f.value == "true"; })) {
      // `ferryctl --version`: the one line every Ferry binary prints.
      command.verb = Verb::kVersion;
      command.client_only = true;
      command.version_flag = true;
      return command;
    }
    return UsageError("missing command (run 'ferryctl help')");
  }
  absl::StatusOr<VerbWords> verb = ParseVerb(raw->positionals, wants_help);
  if (!verb.ok()) return verb.status();
  command.verb = verb->verb;
  const std::string& word = verb->word;
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
  const std::vector<std::string> rest(raw->positionals.begin() + verb->count,
                                      raw->positionals.end());
  if (absl::Status s = CheckVerbArgs(word, rest, command); !s.ok()) return s;
  return command;
}

}  // namespace ferry::cli
