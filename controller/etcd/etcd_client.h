#ifndef FERRY_CONTROLLER_ETCD_ETCD_CLIENT_H_
#define FERRY_CONTROLLER_ETCD_ETCD_CLIENT_H_

// A connection to an etcd v3 cluster over its public gRPC API (KV, Watch,
// Lease), generated from etcd's own .proto files. One channel per endpoint;
// a call that cannot reach the current member moves on to the next, so the
// loss of a minority of members costs a retry, not an error. Every error
// names the endpoint it came from.

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace ferry::controller {

struct EtcdClientOptions {
  // http://host:port or https://host:port, all of one scheme.
  std::vector<std::string> endpoints;
  // PEM files for https endpoints: the CA that signed the members'
  // certificates (required), and a client certificate and key when the
  // cluster authenticates clients (--client-cert-auth).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // How long one call may take, a reconnect included.
  absl::Duration request_timeout = absl::Seconds(10);
};

// Parses --etcd-endpoints: a comma-separated list of URLs. Errors name the
// entry.
absl::StatusOr<std::vector<std::string>> ParseEtcdEndpoints(const std::string& flag);

class EtcdClient {
 public:
  // Builds the channels; does not connect (Ping does).
  static absl::StatusOr<std::unique_ptr<EtcdClient>> Create(const EtcdClientOptions& options);

  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // Reaches some member within `timeout` and returns its revision.
  // UNAVAILABLE naming every endpoint tried when none answers.
  absl::StatusOr<int64_t> Ping(absl::Duration timeout);

  absl::Status Range(const etcdserverpb::RangeRequest& request,
                     etcdserverpb::RangeResponse* response);
  // `by`: give up then at the latest (the request timeout otherwise).
  absl::Status Txn(const etcdserverpb::TxnRequest& request, etcdserverpb::TxnResponse* response,
                   absl::Time by = absl::InfiniteFuture());
  absl::Status LeaseGrant(const etcdserverpb::LeaseGrantRequest& request,
                          etcdserverpb::LeaseGrantResponse* response);
  absl::Status LeaseRevoke(const etcdserverpb::LeaseRevokeRequest& request,
                           etcdserverpb::LeaseRevokeResponse* response);
  absl::Status Compact(const etcdserverpb::CompactionRequest& request,
                       etcdserverpb::CompactionResponse* response);

  // A stream (Watch, LeaseKeepAlive) opens on the current member; when it
  // breaks, the opener calls NextEndpoint and opens it again.
  struct StreamTarget {
    std::string endpoint;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  };
  StreamTarget CurrentTarget();
  void NextEndpoint();

  // "http://a:2379,http://b:2379", for messages.
  std::string EndpointList() const;
  const std::vector<std::string>& endpoints() const { return endpoints_; }

  // grpc::Status as absl::Status, prefixed with the endpoint.
  static absl::Status FromGrpc(const grpc::Status& status, const std::string& endpoint);

 private:
  struct Member {
    std::string endpoint;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
    std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
  };

  EtcdClient(std::vector<std::string> endpoints, absl::Duration timeout);

  // Runs `call` on the current member, then on each other member while
  // the failure is one where the request was never sent (the member is
  // unreachable, or has no leader and refused it) or, for a read
  // (`retry_unavailable`), any UNAVAILABLE: a write is never sent twice.
  // Gives up at `by` at the latest.
  template <typename Call>
  absl::Status Unary(const char* what, bool retry_unavailable, Call call,
                     absl::Time by = absl::InfiniteFuture());

  const std::vector<std::string> endpoints_;
  const absl::Duration timeout_;
  std::vector<Member> members_;
  std::atomic<size_t> current_{0};
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_ETCD_ETCD_CLIENT_H_
