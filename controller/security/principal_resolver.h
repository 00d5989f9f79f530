#ifndef FERRY_CONTROLLER_SECURITY_PRINCIPAL_RESOLVER_H_
#define FERRY_CONTROLLER_SECURITY_PRINCIPAL_RESOLVER_H_

// Turns a call's connection into a Principal:
//   - TCP: the client certificate gRPC verified against Ferry's CA during
//     the handshake (CN = name, O = ferry:<role>), unless its serial is
//     revoked; no certificate: anonymous (may only join).
//   - unix socket: the peer's uid, read with SO_PEERCRED when the
//     connection was accepted. uid 0 and the socket's owner are admin; any
//     other uid that could open the socket (its group) is viewer.

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "controller/security/principal.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace ferry::controller {

class PrincipalResolver {
 public:
  struct Options {
    // The uid of a unix-socket connection, by gRPC's peer string ("fd:N");
    // nullopt for other peers.
    std::function<std::optional<uid_t>(absl::string_view peer)> unix_peer_uid;
    uid_t socket_owner = 0;
    std::function<bool(const std::string& serial)> is_revoked;
  };

  explicit PrincipalResolver(Options options) : options_(std::move(options)) {}

  Principal Resolve(const grpc::ServerContextBase& context) const;

  // The part of Resolve that needs no gRPC: from a verified client
  // certificate (empty: none was presented).
  Principal FromCertificate(absl::string_view cert_pem, std::string source) const;
  Principal FromUid(uid_t uid, std::string source) const;

 private:
  const Options options_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SECURITY_PRINCIPAL_RESOLVER_H_
