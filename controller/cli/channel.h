#ifndef FERRY_CONTROLLER_CLI_CHANNEL_H_
#define FERRY_CONTROLLER_CLI_CHANNEL_H_

// How ferryctl reaches the controller: which server, and with what
// credentials. A unix socket is plaintext (the controller knows the caller
// by its peer uid); TCP is always mutual TLS from the client config, never
// plaintext and never the system's CAs.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "controller/cli/client_config.h"
#include "controller/cli/command.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"

namespace ferry::cli {

// unix:PATH or unix-abstract:NAME.
bool IsUnixTarget(absl::string_view server);

// --server, else $FERRY_SERVER (both in `command.server`), else the
// config's server, else the default.
std::string ResolveServer(const Command& command, const ClientConfig* config);

// Insecure credentials for a unix socket; for TCP, TLS that verifies the
// server against the config's certificateAuthority and presents its client
// certificate. FAILED_PRECONDITION, saying how to get a config, when TCP
// has no usable config (none, no CA, no client certificate, or one outside
// its validity at `now`).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    absl::string_view server, const ClientConfig* config, absl::Time now);

// A channel to `server` with MakeChannelCredentials. A TCP `server` may
// list controller replicas, "a:7443,b:7443": the first that accepts a
// connection is used.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(absl::string_view server,
                                                           const ClientConfig* config);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_CHANNEL_H_
