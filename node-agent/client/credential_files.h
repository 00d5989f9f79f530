#ifndef FERRY_NODE_AGENT_CLIENT_CREDENTIAL_FILES_H_
#define FERRY_NODE_AGENT_CLIENT_CREDENTIAL_FILES_H_

// The node's identity on disk, in --state-dir:
//   node.key  its private key (0600; never leaves the node)
//   node.crt  its certificate, CN = node name, signed by Ferry's CA
//   ca.crt    the CA, which the controller's serving certificate must chain to
// Plain values and files, no gRPC, so join, renewal and the channel all
// share one reading and one writing of them.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/security/pki.h"

namespace ferry::agent {

inline constexpr char kNodeKeyFile[] = "node.key";
inline constexpr char kNodeCertFile[] = "node.crt";
inline constexpr char kCaCertFile[] = "ca.crt";

struct NodeCredentials {
  std::string key_pem;
  std::string cert_pem;
  std::string ca_pem;
};

// OK if `credentials` can be `node_name`'s identity at `now`: the
// certificate's CN is the node name, the key is the certificate's, and the
// certificate is signed by the CA and valid. Otherwise FAILED_PRECONDITION
// saying which is wrong.
absl::Status CheckNodeCredentials(const NodeCredentials& credentials, absl::string_view node_name,
                                  absl::Time now);

// Reads the three files. NOT_FOUND naming the first one missing. First
// finishes a StoreNodeCredentials that a crash interrupted (see there).
absl::StatusOr<NodeCredentials> ReadNodeCredentials(const std::string& dir);

// Creates `dir` 0700 (an existing one with group or other bits is tightened
// to 0700), then replaces the three files: each is written to "<name>.tmp"
// with its mode set explicitly (node.key 0600, the certificates 0644,
// whatever the umask) and fsynced, then the temporaries are renamed over
// ca.crt, node.crt and node.key, in that order, and the directory is
// fsynced. A crash between the renames leaves node.key.tmp (and perhaps
// node.crt.tmp) behind; ReadNodeCredentials completes the renames when
// that key and certificate belong together, so a node never ends up with a
// certificate whose key it lost.
absl::Status StoreNodeCredentials(const std::string& dir, const NodeCredentials& credentials);

// When a certificate is due for renewal: once 2/3 of its lifetime has
// passed (kubelet renews at 70-90%; this leaves a third of the lifetime,
// 10 days for the default 30-day certificate, to get through to the
// controller).
absl::Time RenewalTime(const security::CertificateInfo& certificate);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_CLIENT_CREDENTIAL_FILES_H_
