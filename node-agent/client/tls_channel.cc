#include "node-agent/client/tls_channel.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/grpc_status.h"

namespace ferry::agent {

absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view what) {
  const absl::Status converted = api::FromGrpcStatus(status);
  if (converted.ok()) return converted;
  return absl::Status(converted.code(), absl::StrCat(what, ": ", converted.message()));
}

std::shared_ptr<grpc::ChannelCredentials> NodeTlsCredentials(const NodeCredentials& credentials) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = credentials.ca_pem;
  options.pem_private_key = credentials.key_pem;
  options.pem_cert_chain = credentials.cert_pem;
  return grpc::SslCredentials(options);
}

StateDirCredentials::StateDirCredentials(std::string dir, std::string node_name, Clock now)
    : dir_(std::move(dir)), node_name_(std::move(node_name)), now_(std::move(now)) {}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> StateDirCredentials::Get() {
  absl::StatusOr<NodeCredentials> credentials = ReadNodeCredentials(dir_);
  if (!credentials.ok()) return credentials.status();
  if (absl::Status s = CheckNodeCredentials(*credentials, node_name_, now_()); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("credentials in ", dir_, ": ", s.message()));
  }
  absl::MutexLock lock(&mu_);
  if (current_ == nullptr || credentials->cert_pem != cert_pem_ ||
      credentials->key_pem != key_pem_ || credentials->ca_pem != ca_pem_) {
    current_ = NodeTlsCredentials(*credentials);
    cert_pem_ = std::move(credentials->cert_pem);
    key_pem_ = std::move(credentials->key_pem);
    ca_pem_ = std::move(credentials->ca_pem);
  }
  return current_;
}

}  // namespace ferry::agent
