#include "node-agent/cmd/agent_flags.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/lib/config_file.h"
#include "api/lib/files.h"
#include "api/observability/http_server.h"
#include "api/observability/socket_util.h"
#include "api/security/join_token.h"
#include "node-agent/client/controller_targets.h"

namespace ferry::agent {
namespace {

// Each probe is a socket and a connection on both ends; beyond this the
// probes would be load, not checks.
constexpr uint32_t kMaxProbeRate = 10000;

absl::Status FlagError(absl::string_view flag, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", what));
}

// Node names become object names in the controller: DNS-subdomain style.
absl::Status ValidateNodeName(absl::string_view name) {
  if (name.empty()) return FlagError("node-name", "is required");
  if (name.size() > 253) return FlagError("node-name", "must be at most 253 characters");
  for (char c : name) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-' && c != '.') {
      return FlagError("node-name", absl::StrCat("\"", name,
                                                 "\" may contain only lowercase letters, "
                                                 "digits, '-' and '.'"));
    }
  }
  if (!absl::ascii_isalnum(name.front()) || !absl::ascii_isalnum(name.back())) {
    return FlagError("node-name",
                     absl::StrCat("\"", name, "\" must start and end with a letter or digit"));
  }
  return absl::OkStatus();
}

absl::Status ParseLabels(absl::string_view text, std::map<std::string, std::string>& labels) {
  for (absl::string_view pair : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<absl::string_view> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (kv.size() != 2 || kv[0].empty()) {
      return FlagError("labels", absl::StrCat("\"", pair, "\" must be key=value"));
    }
    labels[std::string(kv[0])] = std::string(kv[1]);
  }
  return absl::OkStatus();
}

absl::Status ParseUint(absl::string_view flag, absl::string_view text, uint32_t& out,
                       uint32_t max = UINT32_MAX) {
  if (!absl::SimpleAtoi(text, &out)) {
    return FlagError(flag, absl::StrCat("\"", text, "\" is not a non-negative integer"));
  }
  if (out > max) return FlagError(flag, absl::StrCat("must be 0..", max, ", got ", text));
  return absl::OkStatus();
}

// Durations as Go writes them ("30s", "500ms", "1m").
absl::Status ParseDurationFlag(absl::string_view flag, absl::string_view text, absl::Duration min,
                               absl::Duration& out) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d == absl::InfiniteDuration()) {
    return FlagError(flag, absl::StrCat("\"", text, "\" is not a duration such as 30s or 500ms"));
  }
  if (d < min) {
    return FlagError(flag, absl::StrCat("must be at least ", absl::FormatDuration(min), ", got ",
                                        absl::FormatDuration(d)));
  }
  out = d;
  return absl::OkStatus();
}

absl::Status ParseUint64(absl::string_view flag, absl::string_view text, uint64_t min,
                         uint64_t& out) {
  if (!absl::SimpleAtoi(text, &out) || out < min) {
    return FlagError(flag, absl::StrCat("\"", text, "\" is not an integer >= ", min));
  }
  return absl::OkStatus();
}

// The token file holds the token and perhaps a trailing newline.
absl::Status ReadTokenFile(absl::string_view path, std::string& token) {
  absl::StatusOr<std::string> text = api::ReadFileToString(std::string(path));
  if (!text.ok()) {
    return FlagError("join-token-file", absl::StrCat("cannot read \"", path, "\""));
  }
  token = std::string(absl::StripAsciiWhitespace(*text));
  if (token.empty()) return FlagError("join-token-file", absl::StrCat("\"", path, "\" is empty"));
  return absl::OkStatus();
}

// Checked here so that a mistyped token is a usage error at once, never a
// refusal from the controller after a key was made.
absl::Status ValidateJoinToken(const std::string& token) {
  if (token.empty()) return absl::OkStatus();
  absl::Status s = security::ParseJoinToken(token).status();
  return s.ok() ? s : FlagError("join-token", s.message());
}

absl::Status ValidateTables(const RouteTableOptions& tables) {
  // 253..255 are the kernel's default, main and local tables.
  const uint64_t end = uint64_t{tables.table_base} + tables.table_count;
  if (tables.table_base == 0 || tables.table_count == 0 || end > UINT32_MAX ||
      (tables.table_base <= 255 && end > 253)) {
    return FlagError("table-base", absl::StrCat("tables ", tables.table_base, "..", end - 1,
                                                " must be non-empty, above 0 and avoid 253-255"));
  }
  // The main table's rule sits at 32766: ours must come before it.
  if (tables.rule_priority == 0 || tables.rule_priority >= 32766) {
    return FlagError("rule-priority", absl::StrCat("must be 1..32765 (before the main table), got ",
                                                   tables.rule_priority));
  }
  return absl::OkStatus();
}

// The agent serves plain HTTP: anything beyond loopback would publish the
// node's forwards to the network unauthenticated.
absl::Status ValidateMetricsListen(absl::string_view value) {
  if (value.empty()) return absl::OkStatus();
  if (!observability::ParseHostPort(value, "--metrics-listen").ok()) {
    return FlagError("metrics-listen",
                     absl::StrCat("\"", value, "\" must be host:port, e.g. 127.0.0.1:9101"));
  }
  if (observability::IsLoopbackListen(value)) return absl::OkStatus();
  return FlagError("metrics-listen",
                   absl::StrCat("\"", value,
                                "\" must be a loopback address (127.0.0.1:PORT or [::1]:PORT): "
                                "the agent serves plain HTTP"));
}

}  // namespace

std::vector<api::FlagHelp> AgentFlagHelp() {
  return {
      {"node-name", "NAME", "this node's name (its identity to the controller); required", ""},
      {"controller", "ADDR[,ADDR…]",
       "host:port[,host:port…] of ferry-controller replicas (the agent follows the leader), or "
       "unix:/path; required",
       ""},
      {"config", "FILE",
       "YAML file of flags: keys are these flags' names (metrics-listen: 127.0.0.1:9101), "
       "labels as a mapping; a flag on the command line overrides the file",
       ""},
      {"labels", "k=v,...", "node labels reported in the hello", ""},
      {"join-token", "TOKEN",
       "one-time token from `ferryctl token create --node NAME`; needed only until the node "
       "holds a certificate",
       ""},
      {"join-token-file", "FILE", "read the join token from FILE (keeps it out of ps)", ""},
      {"state-dir", "DIR", "the node's key and certificates", "/var/lib/ferry-agent"},
      {"max-config-entries", "N", "refuse a config with more dnat and return-route entries",
       "1000000"},
      {"table-base", "N", "first routing table for return routes", "7100"},
      {"table-count", "N", "number of routing tables", "100"},
      {"rule-priority", "N", "priority of return-route rules", "10000"},
      {"verify-interval", "DURATION", "full drift verification period", "30s"},
      {"sysctl-poll", "DURATION",
       "also poll the forwarding sysctls every DURATION, for kernels that do not announce their "
       "changes (0: off; they are checked on change events and by every full verification)",
       "0"},
      {"probe-rate", "N",
       "start at most N data-path probes per second (0: no probes). At 10k probed forwards a "
       "round takes 50 s at 200/s, so shorter probe periods stretch to that",
       "200"},
      {"probe-period", "DURATION",
       "probe each forward every DURATION unless its spec.probe.periodSeconds says otherwise "
       "(at least 1s)",
       "15s"},
      {"metrics-listen", "HOST:PORT",
       "serve /metrics, /healthz and /readyz over plain HTTP on this loopback address (127.x "
       "or [::1]); off when empty",
       ""},
      {"log-format", "logfmt|json", "log lines on stderr: key=value, or one JSON object per line",
       "logfmt"},
      {"v", "info|debug", "log level", "info"},
      {"help", "", "print this help and exit (also -h)", ""},
      {"version", "", "print the version and exit", ""},
  };
}

std::string AgentUsage() {
  return absl::StrCat(
      "usage: ferry-agent --node-name NAME --controller ADDR[,ADDR…] [flags]\n\n"
      "Converges this node's nftables NAT and policy routes on the config its controller\n"
      "pushes. Flags take --flag VALUE or --flag=VALUE.\n\n"
      "Flags:\n",
      api::FormatFlagHelp(AgentFlagHelp()));
}

absl::StatusOr<AgentFlags> ParseAgentFlags(std::vector<std::string> args) {
  AgentFlags flags;
  // Answered whatever else is given, so a broken config never hides them.
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
      return flags;
    }
    if (arg == "--version") {
      flags.version = true;
      return flags;
    }
  }
  std::string controller;
  std::vector<api::ConfigFlag> config_flags;
  for (const api::FlagHelp& f : AgentFlagHelp()) config_flags.push_back({f.name, false});
  absl::StatusOr<std::vector<std::string>> expanded = api::ExpandConfigFile(args, config_flags);
  if (!expanded.ok()) return expanded.status();
  args = *std::move(expanded);
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg.substr(0, 2) != "--") {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    arg.remove_prefix(2);
    std::string name, value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    } else {
      name = std::string(arg);
      if (i + 1 >= args.size()) return FlagError(name, "needs a value");
      value = args[++i];
    }
    absl::Status status;
    if (name == "node-name") {
      flags.node_name = value;
    } else if (name == "controller") {
      controller = value;
    } else if (name == "join-token") {
      if (!flags.join_token.empty())
        status = FlagError(name, "given twice (or with --join-token-file)");
      flags.join_token = value;
    } else if (name == "join-token-file") {
      if (!flags.join_token.empty()) status = FlagError(name, "given twice (or with --join-token)");
      if (status.ok()) status = ReadTokenFile(value, flags.join_token);
    } else if (name == "state-dir") {
      if (value.empty() || value.front() != '/') {
        status = FlagError(name, absl::StrCat("\"", value, "\" must be an absolute path"));
      }
      flags.state_dir = value;
    } else if (name == "max-config-entries") {
      status = ParseUint64(name, value, 1, flags.max_config_entries);
    } else if (name == "probe-rate") {
      status = ParseUint(name, value, flags.probe_rate, kMaxProbeRate);
    } else if (name == "probe-period") {
      status = ParseDurationFlag(name, value, absl::Seconds(1), flags.probe_period);
    } else if (name == "labels") {
      status = ParseLabels(value, flags.labels);
    } else if (name == "table-base") {
      status = ParseUint(name, value, flags.tables.table_base);
    } else if (name == "table-count") {
      status = ParseUint(name, value, flags.tables.table_count);
    } else if (name == "rule-priority") {
      status = ParseUint(name, value, flags.tables.rule_priority);
    } else if (name == "verify-interval") {
      status = ParseDurationFlag(name, value, absl::Milliseconds(100), flags.verify_interval);
    } else if (name == "sysctl-poll") {
      if (value == "0" || value == "off") {
        flags.sysctl_poll = absl::ZeroDuration();
      } else {
        status = ParseDurationFlag(name, value, absl::Milliseconds(10), flags.sysctl_poll);
      }
    } else if (name == "log-format") {
      absl::StatusOr<LogFormat> format = ParseLogFormat(value, "--log-format");
      if (format.ok()) flags.log_format = *format;
      status = format.status();
    } else if (name == "metrics-listen") {
      status = ValidateMetricsListen(value);
      flags.metrics_listen = value;
    } else if (name == "v") {
      if (value == "info") {
        flags.log_level = LogLevel::kInfo;
      } else if (value == "debug") {
        flags.log_level = LogLevel::kDebug;
      } else {
        status = FlagError(name, absl::StrCat("\"", value, "\" must be info or debug"));
      }
    } else {
      status = absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (!status.ok()) return status;
  }
  if (absl::Status s = ValidateNodeName(flags.node_name); !s.ok()) return s;
  if (controller.empty()) return FlagError("controller", "is required");
  absl::StatusOr<std::vector<std::string>> controllers = ParseControllerTargets(controller);
  if (!controllers.ok()) return controllers.status();
  flags.controllers = *std::move(controllers);
  if (absl::Status s = ValidateTables(flags.tables); !s.ok()) return s;
  if (absl::Status s = ValidateJoinToken(flags.join_token); !s.ok()) return s;
  return flags;
}

}  // namespace ferry::agent
