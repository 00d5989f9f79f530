#ifndef FERRY_NODE_AGENT_CMD_AGENT_FLAGS_H_
#define FERRY_NODE_AGENT_CMD_AGENT_FLAGS_H_

// ferry-agent's command line. Parsed by hand because the documented flags
// use dashes (--node-name), which absl flags cannot name.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/lib/flag_help.h"
#include "api/lib/log.h"
#include "node-agent/state/route_tables.h"

namespace ferry::agent {

struct AgentFlags {
  std::string node_name;
  // The controller replicas, in the order tried (ParseControllerTargets):
  // host:port entries, or a single unix:/path.
  std::vector<std::string> controllers;
  std::map<std::string, std::string> labels;
  RouteTableOptions tables;
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kLogfmt;
  // host:port for /metrics, /healthz and /readyz; empty: off. Plain HTTP,
  // so only a loopback address is accepted (scrape through a local
  // Prometheus agent or a proxy).
  std::string metrics_listen;
  // Drift detection: the periodic full verification (safety net behind
  // kernel events), and an optional poll of the sysctls Ferry set (zero:
  // off, since their changes arrive as RTM_NEWNETCONF events).
  absl::Duration verify_interval = absl::Seconds(30);
  absl::Duration sysctl_poll = absl::ZeroDuration();
  // Joining over TCP: the one-time token (from --join-token, or read from
  // --join-token-file so that it never shows in ps), and where the node's
  // key and certificates are kept between starts.
  std::string join_token;
  std::string state_dir = "/var/lib/ferry-agent";
  // Self-defence: a push with more entries (dnat plus return routes) than
  // this is refused.
  uint64_t max_config_entries = 1000000;
  // Data-path probes (node-agent/probe/): at most this many started per
  // second; 0 turns probing off (the agent then does not announce
  // CAPABILITY_DATA_PATH_PROBE).
  uint32_t probe_rate = 200;
  // A forward's probe period when its spec gives none (spec.probe.periodSeconds 0).
  absl::Duration probe_period = absl::Seconds(15);
  // --help / -h and --version: print and exit 0; nothing else is checked.
  bool help = false;
  bool version = false;
};

// Every flag ferry-agent takes, in --help's order; --config's keys are
// their names.
std::vector<api::FlagHelp> AgentFlagHelp();

// Usage text for --help and for flag errors.
std::string AgentUsage();

// `args` excludes argv[0]. Accepts "--flag value" and "--flag=value", and
// "--config FILE" (a YAML file of flags that the command line overrides,
// api/lib/config_file.h). Errors are INVALID_ARGUMENT naming the flag (or
// the config file, its line and key) and what would be right.
absl::StatusOr<AgentFlags> ParseAgentFlags(std::vector<std::string> args);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_CMD_AGENT_FLAGS_H_
