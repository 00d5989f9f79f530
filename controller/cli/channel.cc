#include "controller/cli/channel.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/security/pki.h"
#include "controller/cli/table.h"
#include "grpcpp/create_channel.h"

namespace ferry::cli {
namespace {

// How long ferryctl tries one replica of a list before the next.
constexpr absl::Duration kReplicaConnectTimeout = absl::Seconds(2);

constexpr absl::string_view kGetConfig =
    "ferryctl needs a client config (--config, $FERRY_CONFIG or ~/.config/ferry/config); "
    "create one with `ferryctl credentials create`";

absl::Status CheckValidity(const ClientConfig& config, absl::Time now) {
  absl::StatusOr<security::CertificateInfo> cert =
      security::ParseCertificatePem(config.client_certificate);
  if (!cert.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(config.source, ": clientCertificate: ", cert.status().message()));
  }
  const bool expired = now >= cert->not_after;
  if (expired || now < cert->not_before) {
    return absl::FailedPreconditionError(
        absl::StrCat(config.source, ": clientCertificate of \"", cert->common_name, "\" ",
                     expired ? "expired at " : "is not valid before ",
                     FormatUtc(expired ? cert->not_after : cert->not_before),
                     expired ? "; ask an admin for new credentials (`ferryctl credentials create`)"
                             : "; check this machine's clock"));
  }
  return absl::OkStatus();
}

// Whether `channel` connects by `deadline`; false as soon as an attempt
// failed (refused, TLS handshake), without waiting for gRPC's retries.
bool Connects(grpc::Channel& channel, absl::Time deadline) {
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) return false;
    if (!channel.WaitForStateChange(state, absl::ToChronoTime(deadline))) return false;
    state = channel.GetState(/*try_to_connect=*/true);
  }
  return true;
}

}  // namespace

bool IsUnixTarget(absl::string_view server) {
  return absl::StartsWith(server, "unix:") || absl::StartsWith(server, "unix-abstract:");
}

std::string ResolveServer(const Command& command, const ClientConfig* config) {
  if (command.server_source == ServerSource::kDefault && config != nullptr &&
      !config->server.empty()) {
    return config->server;
  }
  return command.server;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    absl::string_view server, const ClientConfig* config, absl::Time now) {
  if (IsUnixTarget(server)) return grpc::InsecureChannelCredentials();
  if (config == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("server ", server, " is TCP: ", kGetConfig));
  }
  if (config->certificate_authority.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(config->source,
                     " has no certificateAuthority, which ferryctl needs to "
                     "verify the server at ",
                     server, " (TCP); ", kGetConfig));
  }
  if (config->client_certificate.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        config->source, " has no clientCertificate and clientKey; the controller at ", server,
        " (TCP) answers only callers with a client certificate; ", kGetConfig));
  }
  if (absl::Status s = CheckValidity(*config, now); !s.ok()) return s;
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = config->certificate_authority;
  options.pem_private_key = config->client_key;
  options.pem_cert_chain = config->client_certificate;
  return grpc::SslCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(absl::string_view server,
                                                           const ClientConfig* config) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(server, config, absl::Now());
  if (!credentials.ok()) return credentials.status();
  if (IsUnixTarget(server) || !absl::StrContains(server, ',')) {
    return grpc::CreateChannel(std::string(server), *credentials);
  }
  // Replicas ("a:7443,b:7443"): every one serves the API, so the first
  // that takes a connection serves this command; a dead one costs
  // kReplicaConnectTimeout. When none does, the last one's channel makes
  // the call fail as for one server.
  std::vector<std::string> replicas = absl::StrSplit(server, ',', absl::SkipWhitespace());
  std::shared_ptr<grpc::Channel> channel;
  for (const std::string& replica : replicas) {
    channel = grpc::CreateChannel(replica, *credentials);
    if (Connects(*channel, absl::Now() + kReplicaConnectTimeout)) break;
  }
  return channel;
}

}  // namespace ferry::cli
