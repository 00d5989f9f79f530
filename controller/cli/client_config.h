#ifndef FERRY_CONTROLLER_CLI_CLIENT_CONFIG_H_
#define FERRY_CONTROLLER_CLI_CLIENT_CONFIG_H_

// ferryctl's client config: the controller to talk to and the PEMs for
// mutual TLS with it. `ferryctl credentials create` writes one; ferryctl
// reads it from --config, $FERRY_CONFIG or ~/.config/ferry/config (the
// kubeconfig of Ferry, flattened to the one server a config is for).
//
//   apiVersion: ferry.dev/v1
//   kind: Config
//   server: 192.0.2.100:7443
//   certificateAuthority: |
//     -----BEGIN CERTIFICATE-----
//   clientCertificate: |
//   clientKey: |

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/lib/objects.h"

namespace ferry::cli {

inline constexpr const char* kClientConfigApiVersion = api::kApiVersion;
inline constexpr char kClientConfigKind[] = "Config";
// Relative to $HOME.
inline constexpr char kDefaultClientConfigPath[] = ".config/ferry/config";

struct ClientConfig {
  std::string server;                 // empty: not set
  std::string certificate_authority;  // PEM: the CA the server's certificate must chain to
  std::string client_certificate;     // PEM
  std::string client_key;             // PEM; never printed in messages

  // Where it was read from, for messages; not part of the YAML.
  std::string source;
  // The file holds a private key and group or others may read it.
  bool key_readable_by_others = false;
};

// Parses a config strictly: one document, known fields only, PEMs that
// parse, and a key that belongs to the certificate. Errors are
// INVALID_ARGUMENT "<source>:<line>:<column>: <field>: <what is wrong>".
absl::StatusOr<ClientConfig> ParseClientConfig(absl::string_view yaml, absl::string_view source);

// The YAML `credentials create` prints; ParseClientConfig reads it back.
std::string EncodeClientConfig(const ClientConfig& config);

// Where ferryctl's config comes from, in order: --config (`flag_path`),
// $FERRY_CONFIG (`env_path`), then HOME/.config/ferry/config if that file
// exists. A path given by the flag or the environment must be readable;
// nullopt when none is given and the default file does not exist.
absl::StatusOr<std::optional<ClientConfig>> LoadClientConfig(absl::string_view flag_path,
                                                             absl::string_view env_path,
                                                             absl::string_view home);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_CLIENT_CONFIG_H_
