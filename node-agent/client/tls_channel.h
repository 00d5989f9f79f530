#ifndef FERRY_NODE_AGENT_CLIENT_TLS_CHANNEL_H_
#define FERRY_NODE_AGENT_CLIENT_TLS_CHANNEL_H_

// The agent's mutual-TLS credentials for gRPC, built from --state-dir, and
// the one place its gRPC statuses become absl ones.

#include <grpcpp/security/credentials.h>
#include <grpcpp/support/status.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "node-agent/client/credential_files.h"

namespace ferry::agent {

// The same code, with `what` before the message ("join via host:port: ...").
absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view what);

// The node presents node.crt with its key, and the controller must present
// a certificate under ca.crt that is valid for the --controller host
// (gRPC checks its DNS or IP SANs against the target).
std::shared_ptr<grpc::ChannelCredentials> NodeTlsCredentials(const NodeCredentials& credentials);

// Reads --state-dir at every Get (the client calls it before each
// connection), so a renewed certificate, or one an operator put in place,
// is used from the next connection on. While the files are unchanged the
// same object is returned, and the client keeps its channel.
class StateDirCredentials {
 public:
  using Clock = std::function<absl::Time()>;

  StateDirCredentials(std::string dir, std::string node_name, Clock now = absl::Now);

  // FAILED_PRECONDITION (or the read error) saying what is wrong with the
  // files, e.g. an expired certificate.
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Get();

 private:
  const std::string dir_;
  const std::string node_name_;
  const Clock now_;

  absl::Mutex mu_;
  std::string cert_pem_ ABSL_GUARDED_BY(mu_);  // of `current_`
  std::string key_pem_ ABSL_GUARDED_BY(mu_);
  std::string ca_pem_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<grpc::ChannelCredentials> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_CLIENT_TLS_CHANNEL_H_
