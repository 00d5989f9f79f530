#ifndef FERRY_NODE_AGENT_CLIENT_PINNED_JOIN_H_
#define FERRY_NODE_AGENT_CLIENT_PINNED_JOIN_H_

// A node's first contact with the controller: SecurityService.Join with a
// join token. The node has no CA yet, so it cannot verify the controller
// the usual way; instead the token carries the SHA-256 of the CA's public
// key (kubeadm's discovery hash), and the TLS handshake is accepted only if
// the controller proves a certificate chain to that key. The token's secret
// is sent only after that check passed, so an impostor that answers on the
// controller's address learns nothing.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "node-agent/client/credential_files.h"

namespace ferry::agent {

// The pin check, pure so it can be tested without a handshake: OK if some
// certificate in `chain_pem` (the server's chain as sent, leaf first) has
// the SPKI hash `ca_pin` and the leaf is signed by it and valid at `now`.
// Otherwise UNAUTHENTICATED saying why.
absl::Status VerifyPinnedChain(absl::string_view chain_pem, absl::string_view ca_pin,
                               absl::Time now);

// Checks what a Join returned: the CA must be the pinned one (the channel
// proved only that the server holds a certificate under it; the CA the node
// will trust from now on must be that same CA), and the certificate must be
// `node_name`'s, for `key_pem`, under that CA. UNAUTHENTICATED or
// FAILED_PRECONDITION saying what is wrong.
absl::Status CheckJoinResponse(const NodeCredentials& credentials, absl::string_view ca_pin,
                               absl::string_view node_name, absl::Time now);

struct JoinOptions {
  std::string target;  // host:port of the controller
  std::string token;   // ferry1.<id>.<secret>.<ca-pin>
  std::string node_name;
  absl::Duration timeout = absl::Seconds(30);
};

// Makes a key and a CSR (CN = node name), calls Join over a pinned TLS
// channel and checks the answer (CheckJoinResponse). Errors:
//  - UNAVAILABLE / DEADLINE_EXCEEDED: the controller was not reached; worth
//    retrying;
//  - UNAUTHENTICATED "controller at X failed the CA pin check: ...": the
//    peer is not the controller the token names;
//  - anything else: the controller's refusal (a token for another node, a
//    used or expired token), with its code and message, or a bad answer.
absl::StatusOr<NodeCredentials> JoinController(const JoinOptions& options);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_CLIENT_PINNED_JOIN_H_
