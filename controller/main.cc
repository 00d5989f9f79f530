// ferry-controller: stores resources in SQLite (or, as one of several
// replicas, in etcd), serves ResourceService to ferryctl and AgentService to
// the agents, and runs the fleet reconciler (on etcd: while it leads).

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "api/lib/config_file.h"
#include "api/lib/flag_help.h"
#include "api/lib/log.h"
#include "api/observability/endpoints.h"
#include "api/observability/http_server.h"
#include "api/observability/metrics.h"
#include "api/observability/process_metrics.h"
#include "api/observability/webhook.h"
#include "controller/dashboard/dashboard.h"
#include "controller/dashboard/metrics_serving.h"
#include "controller/etcd/etcd_client.h"
#include "controller/etcd/replication.h"
#include "controller/fleet/event_recorder.h"
#include "controller/fleet/fleet_metrics.h"
#include "controller/fleet/fleet_reconciler.h"
#include "controller/fleet/plan_requests.h"
#include "controller/protection/protection_metrics.h"
#include "controller/protection/rate_limiter.h"
#include "controller/server/agent_service.h"
#include "controller/server/grpc_metrics.h"
#include "controller/server/listeners.h"
#include "controller/server/resource_service.h"
#include "controller/server/secure_serving.h"
#include "controller/server/security_service.h"
#include "controller/server/server_limits.h"
#include "controller/store/commit_handoff.h"
#include "controller/store/snapshot.h"
#include "controller/store/sqlite_store.h"
#include "ferry/version.h"

ABSL_FLAG(std::string, data_dir, "./ferry-data", "directory holding ferry.db (created if missing)");
ABSL_FLAG(std::vector<std::string>, listen, {"127.0.0.1:7443"},
          "address to serve on: host:port or unix:PATH; comma-separated, "
          "and the flag may be repeated");
ABSL_FLAG(std::string, v, "info", "log level: info or debug");
ABSL_FLAG(std::string, log_format, "logfmt",
          "log lines on stderr: logfmt (key=value) or json (one object per line)");
ABSL_FLAG(std::string, config, "",
          "YAML file of flags: keys are these flags' names (metrics-listen: 127.0.0.1:9100), "
          "lists for repeatable flags; a flag on the command line overrides the file");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port to serve /metrics, /healthz, /readyz and the read-only dashboard at / on: "
          "HTTPS with the serving certificate (plain HTTP only on loopback with unix-only "
          "--listen); off when empty");
ABSL_FLAG(std::vector<std::string>, alert_webhook, {},
          "URL to POST drift, repair and failure events to as JSON; https:// is preferred "
          "(the receiver's certificate is verified), http:// is allowed; comma-separated, and "
          "the flag may be repeated");
ABSL_FLAG(std::string, alert_webhook_secret_file, "",
          "file holding a shared secret; every webhook POST then carries X-Ferry-Timestamp and "
          "X-Ferry-Signature: sha256=<HMAC-SHA256 of \"timestamp.body\">");
ABSL_FLAG(std::string, alert_webhook_ca, "",
          "PEM CA bundle that alone is trusted for https webhooks; default: the system's CAs");
ABSL_FLAG(int64_t, max_message_bytes, 16 << 20,
          "largest gRPC message accepted (an Apply's whole manifest set, an agent "
          "report); larger ones are refused with RESOURCE_EXHAUSTED");
ABSL_FLAG(int64_t, max_apply_bytes, 256 << 20,
          "largest apply streamed by ferryctl (ApplyStream), in total: one transaction, "
          "held in memory until it commits");
ABSL_FLAG(int64_t, max_send_message_bytes, 256 << 20,
          "largest gRPC message sent (a node's whole config, a listed object)");
ABSL_FLAG(double, client_write_rate, 5000,
          "Apply/Delete calls per second per client host; 0 turns the limit off");
ABSL_FLAG(double, client_write_burst, 20000,
          "Apply/Delete calls a client host may make at once after a quiet spell");
ABSL_FLAG(double, agent_report_rate, 50,
          "address updates and drift reports per second per node; beyond it only "
          "the latest of each is kept; 0 turns the limit off");
ABSL_FLAG(double, agent_report_burst, 200, "agent reports a node may send at once");
ABSL_FLAG(absl::Duration, watch_stall_timeout, absl::Seconds(30),
          "end a watch whose client has read nothing for this long");
ABSL_FLAG(absl::Duration, pending_grace, absl::Seconds(5),
          "how long a forward may wait for the ACK of the push carrying it before its status "
          "says Pending (0: at once); an ACK within it makes the forward Ready in one write");
ABSL_FLAG(std::vector<std::string>, tls_san, {},
          "extra DNS name or IP address for the serving certificate (the --listen hosts, "
          "localhost and the host name are always in it); comma-separated, repeatable");
ABSL_FLAG(std::string, tls_cert, "",
          "own PKI: serving certificate (PEM, chain to --client-ca); with --tls-key and "
          "--client-ca instead of the CA the controller makes under DATA_DIR/pki");
ABSL_FLAG(std::string, tls_key, "", "own PKI: the serving certificate's key (PEM)");
ABSL_FLAG(std::string, client_ca, "",
          "own PKI: CA that client certificates must chain to, and that agents pin");
ABSL_FLAG(std::string, ca_key, "",
          "own PKI: the --client-ca's key, so the controller can sign joins and credentials");
ABSL_FLAG(absl::Duration, node_cert_ttl, absl::Hours(24 * 30),
          "lifetime of a node's certificate; agents renew after two thirds of it");
ABSL_FLAG(std::string, audit_log, "",
          "file to append one JSON line to for every write and every denied call; off when "
          "empty");
ABSL_FLAG(int64_t, audit_log_max_bytes, 100 << 20, "rotate the audit log at this size");
ABSL_FLAG(int32_t, audit_log_backups, 5, "rotated audit logs to keep (PATH.1 ... PATH.N)");
ABSL_FLAG(std::string, reserved_ports, "",
          "ports no forward may claim on any node, comma-separated; default: 22 and the "
          "controller's own TCP and metrics ports");
ABSL_FLAG(std::string, etcd_endpoints, "",
          "keep the state in this etcd v3 cluster instead of DATA_DIR/ferry.db, so several "
          "controllers can serve it as replicas: http(s)://host:port, comma-separated");
ABSL_FLAG(std::string, etcd_prefix, "/ferry/",
          "the key prefix that is this Ferry's own in a shared etcd");
ABSL_FLAG(std::string, etcd_ca_file, "",
          "PEM CA that signed the etcd members' certificates (https endpoints)");
ABSL_FLAG(std::string, etcd_cert_file, "",
          "PEM client certificate for etcd (clusters with --client-cert-auth)");
ABSL_FLAG(std::string, etcd_key_file, "", "PEM key of --etcd-cert-file");
ABSL_FLAG(absl::Duration, leader_lease_ttl, absl::Seconds(10),
          "with etcd: the leader's lease; a follower takes over this long after the leader "
          "dies");
ABSL_FLAG(absl::Duration, etcd_compaction_interval, absl::Minutes(5),
          "with etcd: the leader compacts etcd's history this often, to the revision of one "
          "interval before; 0 when the cluster compacts itself (--auto-compaction-*)");
ABSL_FLAG(std::string, advertise_address, "",
          "with etcd: host:port agents reach this replica's --listen at, told to agents by "
          "followers; default: the first TCP --listen address");
ABSL_FLAG(std::string, admission_config, "",
          "YAML file: reservedPorts, backendDeny CIDRs and per-node claimableAddresses");

namespace ferry::controller {
namespace {

constexpr int64_t kMaxGrpcMessageBytes = 2147483647;
// What an RPC in flight gets on SIGTERM before it is cancelled. Agents'
// streams and watches never end by themselves and need no grace: agents
// fail static (the kernel keeps what they applied) and reconnect to the
// next controller, watchers re-watch. A unary call cut off here was never
// acknowledged, so nothing acknowledged is lost.
constexpr auto kShutdownGrace = std::chrono::milliseconds(300);
// How long queued webhook posts may still be delivered on shutdown.
constexpr absl::Duration kWebhookDrain = absl::Seconds(3);

struct Config {
  std::vector<ListenAddress> listen;
  std::string data_dir;
  std::string metrics_listen;
  std::vector<std::string> alert_webhooks;
  std::string alert_webhook_ca;
  std::string alert_webhook_secret_file;
  ServerLimits limits;
  size_t max_apply_bytes = 0;
  RateLimit client_writes;
  RateLimit agent_reports;
  absl::Duration watch_stall_timeout;
  absl::Duration pending_grace;
  SecurityConfig security;
  absl::Duration node_cert_ttl;
  // Set with --etcd-endpoints: a replica on etcd.
  std::optional<Replication::Options> etcd;
  std::string advertise_address;
};

absl::Status ReadEtcdFlags(Config* config) {
  const std::string endpoints = absl::GetFlag(FLAGS_etcd_endpoints);
  if (endpoints.empty()) {
    for (const auto& [flag, value] :
         {std::make_pair("--etcd-ca-file", absl::GetFlag(FLAGS_etcd_ca_file)),
          std::make_pair("--etcd-cert-file", absl::GetFlag(FLAGS_etcd_cert_file)),
          std::make_pair("--etcd-key-file", absl::GetFlag(FLAGS_etcd_key_file)),
          std::make_pair("--advertise-address", absl::GetFlag(FLAGS_advertise_address))}) {
      if (value.empty()) continue;
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " is for replicas on etcd: give --etcd-endpoints"));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> parsed = ParseEtcdEndpoints(endpoints);
  if (!parsed.ok()) return parsed.status();
  Replication::Options options;
  options.store.client.endpoints = *std::move(parsed);
  options.store.client.ca_file = absl::GetFlag(FLAGS_etcd_ca_file);
  options.store.client.cert_file = absl::GetFlag(FLAGS_etcd_cert_file);
  options.store.client.key_file = absl::GetFlag(FLAGS_etcd_key_file);
  options.store.prefix = absl::GetFlag(FLAGS_etcd_prefix);
  options.lease_ttl = absl::GetFlag(FLAGS_leader_lease_ttl);
  options.compaction_interval = absl::GetFlag(FLAGS_etcd_compaction_interval);
  if (options.compaction_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--etcd-compaction-interval: must not be negative, e.g. 5m");
  }
  config->etcd = std::move(options);
  config->advertise_address = absl::GetFlag(FLAGS_advertise_address);
  if (!config->advertise_address.empty()) {
    const size_t colon = config->advertise_address.rfind(':');
    int port = 0;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(config->advertise_address.substr(colon + 1), &port) || port < 1 ||
        port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--advertise-address: \"", config->advertise_address, "\" must be host:port"));
    }
  }
  return absl::OkStatus();
}

// Protection flags, checked before anything starts; the error names the flag.
absl::Status ReadProtectionFlags(Config* config) {
  for (auto [flag, value, out] :
       {std::make_tuple("--max-message-bytes", absl::GetFlag(FLAGS_max_message_bytes),
                        &config->limits.max_receive_bytes),
        std::make_tuple("--max-send-message-bytes", absl::GetFlag(FLAGS_max_send_message_bytes),
                        &config->limits.max_send_bytes)}) {
    if (value < 1024 || value > kMaxGrpcMessageBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": must be from 1024 to ", kMaxGrpcMessageBytes, ", got ", value));
    }
    *out = static_cast<int>(value);
  }
  const int64_t apply_bytes = absl::GetFlag(FLAGS_max_apply_bytes);
  if (apply_bytes < 1024 || apply_bytes > (int64_t{1} << 34)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-apply-bytes: must be from 1024 to 16 GiB, got ", apply_bytes));
  }
  config->max_apply_bytes = static_cast<size_t>(apply_bytes);
  config->client_writes = {absl::GetFlag(FLAGS_client_write_rate),
                           absl::GetFlag(FLAGS_client_write_burst)};
  config->agent_reports = {absl::GetFlag(FLAGS_agent_report_rate),
                           absl::GetFlag(FLAGS_agent_report_burst)};
  if (absl::Status s = ValidateRateLimit(config->client_writes, "--client-write-rate/burst");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateRateLimit(config->agent_reports, "--agent-report-rate/burst");
      !s.ok()) {
    return s;
  }
  config->watch_stall_timeout = absl::GetFlag(FLAGS_watch_stall_timeout);
  if (config->watch_stall_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--watch-stall-timeout: must be positive, e.g. 30s");
  }
  config->pending_grace = absl::GetFlag(FLAGS_pending_grace);
  if (config->pending_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--pending-grace: must not be negative, e.g. 5s");
  }
  return absl::OkStatus();
}

absl::Status ReadSecurityFlags(const std::vector<std::string>& san_values, Config* config) {
  SecurityConfig& sec = config->security;
  sec.data_dir = config->data_dir;
  sec.listen = config->listen;
  sec.metrics_listen = config->metrics_listen;
  for (const std::string& value : san_values) {
    for (absl::string_view san : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      sec.tls_sans.emplace_back(absl::StripAsciiWhitespace(san));
    }
  }
  sec.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  sec.tls_key = absl::GetFlag(FLAGS_tls_key);
  sec.client_ca = absl::GetFlag(FLAGS_client_ca);
  sec.ca_key = absl::GetFlag(FLAGS_ca_key);
  sec.audit_log = absl::GetFlag(FLAGS_audit_log);
  sec.audit_log_max_bytes = absl::GetFlag(FLAGS_audit_log_max_bytes);
  sec.audit_log_backups = absl::GetFlag(FLAGS_audit_log_backups);
  if (sec.audit_log_max_bytes < 4096) {
    return absl::InvalidArgumentError("--audit-log-max-bytes: must be at least 4096");
  }
  if (sec.audit_log_backups < 0 || sec.audit_log_backups > 100) {
    return absl::InvalidArgumentError("--audit-log-backups: must be from 0 to 100");
  }
  if (std::string ports = absl::GetFlag(FLAGS_reserved_ports); !ports.empty()) {
    absl::StatusOr<std::vector<uint32_t>> parsed = ParsePortList(ports, "--reserved-ports");
    if (!parsed.ok()) return parsed.status();
    sec.reserved_ports = *std::move(parsed);
  }
  sec.admission_config = absl::GetFlag(FLAGS_admission_config);
  config->node_cert_ttl = absl::GetFlag(FLAGS_node_cert_ttl);
  if (config->node_cert_ttl < absl::Minutes(10)) {
    return absl::InvalidArgumentError("--node-cert-ttl: must be at least 10m");
  }
  return absl::OkStatus();
}

// The flags defined in this file (absl registers its own and gRPC's too),
// by name.
std::vector<absl::CommandLineFlag*> OwnFlags() {
  std::vector<absl::CommandLineFlag*> own;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::EndsWith(flag->Filename(), "controller/main.cc")) own.push_back(flag);
  }
  std::sort(own.begin(), own.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  return own;
}

// Flags that may be given more than once (their values accumulate).
bool IsRepeatedFlag(absl::string_view name) {
  return name == "listen" || name == "alert_webhook" || name == "tls_san";
}

std::string Dashed(absl::string_view name) { return absl::StrReplaceAll(name, {{"_", "-"}}); }

std::string ValuePlaceholder(const absl::CommandLineFlag& flag) {
  const absl::string_view name = flag.Name();
  if (name == "v") return "info|debug";
  if (name == "log_format") return "logfmt|json";
  if (name == "metrics_listen") return "HOST:PORT";
  if (name == "listen") return "ADDR";
  if (name == "alert_webhook") return "URL";
  if (name == "data_dir") return "DIR";
  if (name == "tls_san") return "NAME";
  if (name == "reserved_ports") return "PORTS";
  if (name == "etcd_endpoints") return "URLS";
  if (name == "etcd_prefix") return "PREFIX";
  if (name == "advertise_address") return "HOST:PORT";
  if (flag.IsOfType<absl::Duration>()) return "DURATION";
  if (flag.IsOfType<int64_t>() || flag.IsOfType<int32_t>() || flag.IsOfType<double>()) return "N";
  return "FILE";  // every other string flag names a file
}

std::string Usage() {
  std::vector<api::FlagHelp> help;
  for (const absl::CommandLineFlag* flag : OwnFlags()) {
    help.push_back(
        {Dashed(flag->Name()), ValuePlaceholder(*flag), flag->Help(), flag->DefaultValue()});
  }
  help.push_back({"help", "", "print this help and exit (also -h)", ""});
  help.push_back({"version", "", "print the version and exit", ""});
  return absl::StrCat(
      "usage: ferry-controller [--config FILE] [flags]\n"
      "       ferry-controller snapshot save|restore|inspect ...  (see snapshot --help)\n\n"
      "Stores Ferry's resources in SQLite and pushes each node's config to its agent.\n"
      "Flags take --flag VALUE or --flag=VALUE; dashes and underscores are alike.\n\n"
      "Flags:\n",
      api::FormatFlagHelp(help));
}

std::vector<api::ConfigFlag> ConfigFlags() {
  std::vector<api::ConfigFlag> flags;
  for (const absl::CommandLineFlag* flag : OwnFlags()) {
    flags.push_back({Dashed(flag->Name()), IsRepeatedFlag(flag->Name())});
  }
  return flags;
}

int Fail(absl::string_view what, const absl::Status& status) {
  LogError(what, {{"error", std::string(status.message())}});
  return 1;
}

int Run(const Config& config, const sigset_t& signals) {
  const std::vector<ListenAddress>& listen = config.listen;
  const std::string& data_dir = config.data_dir;
  // SQLite, or etcd shared by replicas; `fleet_store` is what the fleet
  // writes through (on etcd: fenced by the leader lease).
  std::unique_ptr<Store> owned_store;
  std::unique_ptr<Replication> replication;
  Store* fleet_store = nullptr;
  if (config.etcd.has_value()) {
    absl::StatusOr<std::unique_ptr<Replication>> opened = Replication::Open(*config.etcd);
    if (!opened.ok()) return Fail("cannot open the etcd store", opened.status());
    replication = *std::move(opened);
    fleet_store = replication->fleet_store();
    LogInfo("store open", {{"etcd", replication->store()->Where()},
                           {"revision", absl::StrCat(replication->store()->CurrentRevision())}});
  } else {
    absl::StatusOr<std::unique_ptr<SqliteStore>> sqlite = SqliteStore::Open(data_dir);
    if (!sqlite.ok()) return Fail("cannot open store", sqlite.status());
    LogInfo("store open", {{"path", (*sqlite)->path()},
                           {"revision", absl::StrCat((*sqlite)->CurrentRevision())}});
    owned_store = *std::move(sqlite);
    fleet_store = owned_store.get();
  }
  Store* const store =
      replication != nullptr ? static_cast<Store*>(replication->store()) : owned_store.get();

  observability::Registry registry;
  if (absl::Status s = observability::RegisterProcessMetrics(&registry, "controller"); !s.ok()) {
    return Fail("cannot register process metrics", s);
  }
  if (replication != nullptr) {
    absl::StatusOr<observability::GaugeFamily*> leader = registry.AddGauge(
        "ferry_controller_leader",
        "1 on the replica that leads (reconciles and serves agents), 0 on followers");
    if (!leader.ok()) return Fail("cannot register the leader gauge", leader.status());
    observability::Gauge* gauge = (*leader)->WithLabels({});
    registry.AddCollectHook([gauge, r = replication.get()] { gauge->Set(r->leading() ? 1 : 0); });
  }
  std::unique_ptr<observability::WebhookNotifier> notifier;
  if (!config.alert_webhooks.empty()) {
    observability::WebhookOptions webhook_options;
    webhook_options.ca_file = config.alert_webhook_ca;
    if (!config.alert_webhook_secret_file.empty()) {
      absl::StatusOr<std::string> secret = observability::ReadWebhookSecretFile(
          config.alert_webhook_secret_file, "--alert-webhook-secret-file");
      if (!secret.ok()) return Fail("cannot read the webhook secret", secret.status());
      webhook_options.secret = *std::move(secret);
    }
    notifier =
        std::make_unique<observability::WebhookNotifier>(config.alert_webhooks, webhook_options);
    if (absl::Status s = notifier->Start(); !s.ok()) return Fail("cannot start webhooks", s);
    RegisterWebhookMetrics(&registry, notifier.get());
    LogInfo("alert webhooks", {{"urls", absl::StrJoin(config.alert_webhooks, ",")}});
  }
  // Published by the fleet, served by the API and the dashboard.
  ForwardStatuses::Options status_options;
  status_options.replicate = replication != nullptr;
  ForwardStatuses statuses(fleet_store, status_options);
  statuses.Follow();  // a replica serves the leader's statuses until elected
  // Before --metrics-listen starts: it serves HTTPS with this PKI.
  absl::StatusOr<std::unique_ptr<SecureServing>> secure =
      SecureServing::Create(config.security, store);
  if (!secure.ok()) {
    return Fail("cannot set up TLS, credentials, audit or admission", secure.status());
  }
  if (replication != nullptr) {
    // Before anything is written: a prefix of another Ferry (another CA)
    // is refused untouched.
    if (absl::Status s = replication->store()->ClaimOwner(
            absl::StrCat("ca-sha256:", (*secure)->pki()->ca_pin()));
        !s.ok()) {
      return Fail("cannot use the etcd store", s);
    }
  }
  std::atomic<bool> serving_grpc{false};
  std::unique_ptr<observability::HttpServer> http;
  if (!config.metrics_listen.empty()) {
    absl::StatusOr<observability::HttpServerOptions> http_options = dashboard::MetricsServerOptions(
        config.metrics_listen,
        std::any_of(listen.begin(), listen.end(), [](auto& a) { return a.unix_path.empty(); }),
        *(*secure)->pki());
    if (!http_options.ok()) return Fail("cannot serve --metrics-listen", http_options.status());
    http = std::make_unique<observability::HttpServer>(*http_options);
    // The store is open by now; ready once gRPC serves too.
    AddObservabilityEndpoints(http.get(), &registry,
                              [&serving_grpc] { return serving_grpc.load(); });
    dashboard::RegisterDashboard(http.get(), store, &statuses);
    if (absl::Status s = http->Start(); !s.ok()) {
      return Fail("cannot serve --metrics-listen", s);
    }
    LogInfo("serving metrics",
            {{"address", config.metrics_listen}, {"port", absl::StrCat(http->port())}});
  }

  // Applied objects go from the API's writer to the fleet's snapshot.
  CommitHandoff handoff;
  FleetReconciler::Options fleet_options;
  fleet_options.handoff = &handoff;
  fleet_options.metrics = &registry;
  fleet_options.statuses = &statuses;
  fleet_options.pending_grace = config.pending_grace;
  if (notifier != nullptr) {
    fleet_options.on_event = [n = notifier.get()](const ferry::v1::Event& event) {
      if (IsAlertReason(event.reason())) n->Notify(EventWebhookBody(event));
    };
  }
  FleetReconciler fleet(fleet_store, fleet_options);
  // A replica follows until it is elected (after it serves, below).
  if (replication != nullptr) {
    fleet.Follow();
  } else {
    fleet.Start();
  }
  ProtectionMetrics protection_metrics(&registry);
  const PrincipalResolver* resolver = (*secure)->resolver();
  // ResourceService.Diff asks the agents over their streams.
  PlanRequests plans;
  AgentServiceImpl::Options agent_options;
  agent_options.reports = config.agent_reports;
  agent_options.metrics = &protection_metrics;
  agent_options.plans = &plans;
  if (replication != nullptr) {
    agent_options.leading = [r = replication.get()] { return r->leading(); };
    agent_options.leader_address = [r = replication.get()] { return r->leader(); };
  }
  AgentServiceImpl agent_service(&fleet, agent_options,
                                 std::make_unique<CertificateNodeAuthenticator>(resolver));
  ResourceServiceImpl::Options resource_options;
  resource_options.writes = config.client_writes;
  resource_options.watch_stall_timeout = config.watch_stall_timeout;
  resource_options.metrics = &protection_metrics;
  resource_options.principal = [resolver](const grpc::ServerContextBase& context) {
    return resolver->Resolve(context);
  };
  resource_options.audit = (*secure)->audit();
  resource_options.admission = (*secure)->admission();
  resource_options.statuses = &statuses;
  resource_options.handoff = &handoff;
  resource_options.max_apply_bytes = config.max_apply_bytes;
  resource_options.plans = &plans;
  CredentialStore* credentials = (*secure)->credentials();
  resource_options.on_node_deleted = [&fleet, credentials](const std::string& node) {
    absl::StatusOr<int> revoked = credentials->Revoke(node, "node");
    LogInfo("node deleted; its certificates revoked",
            {{"node", node},
             {"revoked",
              revoked.ok() ? absl::StrCat(*revoked) : std::string(revoked.status().message())}});
    fleet.ForgetNode(node, absl::UnauthenticatedError(absl::StrCat(
                               "node ", node, " was deleted; join it again with a new token")));
  };
  ResourceServiceImpl resource_service(store, resource_options);
  SecurityServiceImpl::Options security_options;
  security_options.audit = (*secure)->audit();
  security_options.node_cert_ttl = config.node_cert_ttl;
  SecurityServiceImpl security_service((*secure)->pki(), credentials, resolver, security_options);

  grpc::ServerBuilder builder;
  // For every service: an oversized Apply or agent message is refused by
  // gRPC before it is parsed, with RESOURCE_EXHAUSTED.
  ConfigureServer(config.limits, &builder);
  std::vector<int> ports;
  if (absl::Status s = (*secure)->AddListeners(&builder, &ports); !s.ok()) {
    fleet.Stop();
    return Fail("cannot listen", s);
  }
  builder.RegisterService(&resource_service);
  builder.RegisterService(&agent_service);
  builder.RegisterService(&security_service);
  absl::StatusOr<std::unique_ptr<GrpcMetricsInterceptorFactory>> grpc_metrics =
      GrpcMetricsInterceptorFactory::Create(&registry);
  if (!grpc_metrics.ok()) return Fail("cannot register gRPC metrics", grpc_metrics.status());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(*std::move(grpc_metrics));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    (*secure)->StopUnix();
    fleet.Stop();
    std::vector<std::string> uris;
    for (const ListenAddress& a : listen) uris.push_back(a.grpc_uri);
    return Fail("cannot listen",
                absl::UnavailableError(absl::StrCat("could not bind every --listen address (",
                                                    absl::StrJoin(uris, ", "),
                                                    "); is another controller running?")));
  }
  std::vector<std::string> serving;
  for (size_t i = 0; i < listen.size(); ++i) {
    serving.push_back(
        listen[i].unix_path.empty() && ports[i] > 0
            ? absl::StrCat(listen[i].grpc_uri.substr(0, listen[i].grpc_uri.rfind(':')), ":",
                           ports[i])
            : listen[i].grpc_uri);
  }
  (*secure)->StartUnix(server.get());
  LogInfo("serving", {{"addresses", absl::StrJoin(serving, ",")}, {"data_dir", data_dir}});
  if (replication != nullptr) {
    std::string identity = config.advertise_address;
    for (size_t i = 0; identity.empty() && i < listen.size(); ++i) {
      if (listen[i].unix_path.empty()) identity = serving[i];
    }
    if (identity.empty() || absl::StartsWith(identity, "0.0.0.0:") ||
        absl::StartsWith(identity, "[::]:")) {
      server->Shutdown();
      fleet.Stop();
      return Fail("cannot join the leader election",
                  absl::InvalidArgumentError(absl::StrCat(
                      "--advertise-address: required with --etcd-endpoints when no --listen "
                      "address is one agents can reach (",
                      identity.empty() ? "no TCP --listen" : identity, ")")));
    }
    if (absl::Status s = replication->StartElection(
            identity,
            [&fleet, &statuses] {
              statuses.Lead();
              fleet.Start();
            },
            [](const absl::Status& why) {
              // Crash-only: a restart comes back as a follower with fresh
              // state; systemd (Restart=on-failure) or the orchestrator
              // restarts it.
              LogError("stepping down: exiting", {{"error", why.ToString()}});
              std::fflush(nullptr);
              std::_Exit(3);
            });
        !s.ok()) {
      server->Shutdown();
      fleet.Stop();
      return Fail("cannot join the leader election", s);
    }
    LogInfo("replica on etcd: following until elected", {{"identity", identity}});
  }
  serving_grpc = true;

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogInfo("shutting down", {{"signal", absl::StrCat(signal_number)}});
  // A leader hands over at once; its fleet's last writes are fenced off.
  if (replication != nullptr) replication->StopElection();
  serving_grpc = false;
  (*secure)->StopUnix();
  // Shutdown cancels the calls still open at its deadline and then waits
  // for their handlers; a watch handler notices the cancellation only when
  // its wait for a store change returns (up to a second), so the waits are
  // released at that same deadline. Not before: during the grace a watch
  // would loop on a wait that returns at once.
  const auto deadline = std::chrono::system_clock::now() + kShutdownGrace;
  absl::Notification shut_down;
  std::thread release_waits([&] {
    shut_down.WaitForNotificationWithDeadline(absl::FromChrono(deadline));
    store->StopWaiting();
  });
  server->Shutdown(deadline);
  shut_down.Notify();
  release_waits.join();
  fleet.Stop();
  server->Wait();
  if (http != nullptr) http->Stop();
  if (notifier != nullptr) notifier->Stop(kWebhookDrain);
  // Every thread has stopped and every write is committed (the audit log
  // flushes each record). The store is closed properly; the rest of the
  // memory (the fleet's view of 100k forwards is hundreds of MiB of small
  // allocations, about a second to free one by one) goes back to the
  // kernel at once with the process.
  if (replication != nullptr) replication->StopElection();
  replication.reset();
  owned_store.reset();
  LogInfo("stopped");
  std::fflush(nullptr);
  std::_Exit(0);
}

}  // namespace
}  // namespace ferry::controller

int main(int argc, char** argv) {
  // `ferry-controller snapshot save|restore|inspect ...`: backup and
  // restore (controller/store/snapshot.h), before any flag parsing.
  if (argc > 1 && std::string(argv[1]) == "snapshot") {
    return ferry::controller::SnapshotCommand(std::vector<std::string>(argv + 2, argv + argc));
  }
  // Blocked before any thread starts, so every thread inherits the mask and
  // only Run's sigwait sees these signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::SetProgramUsageMessage("ferry-controller [--config FILE] [flags]; --help lists them");
  // Answered before absl parses: its --help lists nothing of ours, it has
  // no -h, and its --version prints no version.
  const std::vector<std::string> given(argv + 1, argv + argc);
  for (const std::string& arg : given) {
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      std::fputs(ferry::controller::Usage().c_str(), stdout);
      return 0;
    }
    if (arg == "--version" || arg == "-version") {
      std::printf("ferry-controller %s\n", ferry::kFerryVersion);
      return 0;
    }
  }
  absl::StatusOr<std::vector<std::string>> expanded =
      ferry::api::ExpandConfigFile(given, ferry::controller::ConfigFlags());
  if (!expanded.ok()) {
    std::fprintf(stderr, "ferry-controller: %s\n",
                 std::string(expanded.status().message()).c_str());
    return 2;
  }
  std::vector<char*> expanded_ptrs = {argv[0]};
  for (std::string& a : *expanded) expanded_ptrs.push_back(a.data());
  const int expanded_argc = static_cast<int>(expanded_ptrs.size());
  std::vector<std::string> args =
      ferry::controller::NormalizeFlagDashes(expanded_argc, expanded_ptrs.data());
  std::vector<char*> arg_ptrs;
  for (std::string& a : args) arg_ptrs.push_back(a.data());
  arg_ptrs.push_back(nullptr);
  // Repeated --listen flags accumulate; absl keeps only the last one.
  std::vector<std::string> listen_values =
      ferry::controller::CollectFlagValues(expanded_argc, arg_ptrs.data(), "listen");
  std::vector<std::string> webhook_values =
      ferry::controller::CollectFlagValues(expanded_argc, arg_ptrs.data(), "alert_webhook");
  std::vector<std::string> san_values =
      ferry::controller::CollectFlagValues(expanded_argc, arg_ptrs.data(), "tls_san");
  std::vector<char*> rest = absl::ParseCommandLine(expanded_argc, arg_ptrs.data());
  if (rest.size() > 1) {
    std::fprintf(stderr, "ferry-controller: unexpected argument \"%s\"\n", rest[1]);
    return 2;
  }
  if (listen_values.empty()) listen_values = absl::GetFlag(FLAGS_listen);
  std::vector<std::string> webhooks;
  for (const std::string& value : webhook_values) {
    for (absl::string_view url : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
      webhooks.emplace_back(url);
    }
  }

  std::string level = absl::GetFlag(FLAGS_v);
  if (level == "debug") {
    ferry::SetLogLevel(ferry::LogLevel::kDebug);
  } else if (level != "info") {
    std::fprintf(stderr, "ferry-controller: --v: must be info or debug, got \"%s\"\n",
                 level.c_str());
    return 2;
  }
  absl::StatusOr<ferry::LogFormat> log_format =
      ferry::ParseLogFormat(absl::GetFlag(FLAGS_log_format), "--log-format");
  if (!log_format.ok()) {
    std::fprintf(stderr, "ferry-controller: %s\n",
                 std::string(log_format.status().message()).c_str());
    return 2;
  }
  ferry::SetLogFormat(*log_format);
  std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  if (data_dir.empty()) {
    std::fprintf(stderr, "ferry-controller: --data-dir: must not be empty\n");
    return 2;
  }
  absl::StatusOr<std::vector<ferry::controller::ListenAddress>> listen =
      ferry::controller::ParseListenAddresses(listen_values);
  if (!listen.ok()) {
    std::fprintf(stderr, "ferry-controller: %s\n", std::string(listen.status().message()).c_str());
    return 2;
  }
  ferry::controller::Config config;
  config.listen = *std::move(listen);
  config.data_dir = data_dir;
  config.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  config.alert_webhooks = std::move(webhooks);
  config.alert_webhook_ca = absl::GetFlag(FLAGS_alert_webhook_ca);
  config.alert_webhook_secret_file = absl::GetFlag(FLAGS_alert_webhook_secret_file);
  if (absl::Status s = ferry::controller::ReadProtectionFlags(&config); !s.ok()) {
    std::fprintf(stderr, "ferry-controller: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (absl::Status s = ferry::controller::ReadSecurityFlags(san_values, &config); !s.ok()) {
    std::fprintf(stderr, "ferry-controller: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (absl::Status s = ferry::controller::ReadEtcdFlags(&config); !s.ok()) {
    std::fprintf(stderr, "ferry-controller: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  return ferry::controller::Run(config, signals);
}
