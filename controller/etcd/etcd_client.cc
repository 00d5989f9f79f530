#include "controller/etcd/etcd_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "api/lib/files.h"

namespace ferry::controller {
namespace {

using etcdserverpb::KV;
using etcdserverpb::Lease;
using etcdserverpb::Maintenance;

// How long a call waits for one member's connection before it tries the
// next: long enough for a TLS handshake on a loaded machine, short enough
// that a dead member costs one second, once (the next member stays
// current).
constexpr absl::Duration kConnectTimeout = absl::Seconds(1);

bool HasScheme(absl::string_view url, absl::string_view scheme) {
  return absl::StartsWith(url, scheme);
}

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view flag) {
  absl::StatusOr<std::string> pem = api::ReadFileToString(path, 1 << 20);
  if (!pem.ok()) {
    return absl::Status(pem.status().code(), absl::StrCat(flag, ": ", pem.status().message()));
  }
  return pem;
}

std::chrono::system_clock::time_point Deadline(absl::Time t) { return absl::ToChronoTime(t); }

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseEtcdEndpoints(const std::string& flag) {
  std::vector<std::string> endpoints;
  for (absl::string_view entry : absl::StrSplit(flag, ',', absl::SkipWhitespace())) {
    const std::string url(absl::StripAsciiWhitespace(entry));
    const bool https = HasScheme(url, "https://");
    if (!https && !HasScheme(url, "http://")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--etcd-endpoints: \"", url, "\" must be http://host:port or https://host:port"));
    }
    absl::string_view rest = absl::string_view(url).substr(https ? 8 : 7);
    if (absl::EndsWith(rest, "/")) rest.remove_suffix(1);
    const size_t colon = rest.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(rest.substr(colon + 1), &port) || port < 1 || port > 65535 ||
        rest.find('/') != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--etcd-endpoints: \"", url, "\" must be http://host:port or https://host:port"));
    }
    endpoints.push_back(absl::StrCat(https ? "https://" : "http://", rest));
  }
  if (endpoints.empty()) {
    return absl::InvalidArgumentError("--etcd-endpoints: no endpoint given");
  }
  for (const std::string& e : endpoints) {
    if (HasScheme(e, "https://") != HasScheme(endpoints[0], "https://")) {
      return absl::InvalidArgumentError(absl::StrCat("--etcd-endpoints: \"", e,
                                                     "\" mixes http and https with \"",
                                                     endpoints[0], "\"; use one scheme"));
    }
  }
  return endpoints;
}

EtcdClient::EtcdClient(std::vector<std::string> endpoints, absl::Duration timeout)
    : endpoints_(std::move(endpoints)), timeout_(timeout) {}

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Create(const EtcdClientOptions& options) {
  if (options.endpoints.empty()) {
    return absl::InvalidArgumentError("--etcd-endpoints: no endpoint given");
  }
  const bool https = HasScheme(options.endpoints[0], "https://");
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (https) {
    if (options.ca_file.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--etcd-endpoints ", options.endpoints[0],
          " is https: give --etcd-ca-file, the CA that signed the etcd members' certificates"));
    }
    if (options.cert_file.empty() != options.key_file.empty()) {
      return absl::InvalidArgumentError(
          "--etcd-cert-file and --etcd-key-file go together: give both or neither");
    }
    grpc::SslCredentialsOptions ssl;
    absl::StatusOr<std::string> ca = ReadPem(options.ca_file, "--etcd-ca-file");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
    if (!options.cert_file.empty()) {
      absl::StatusOr<std::string> cert = ReadPem(options.cert_file, "--etcd-cert-file");
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadPem(options.key_file, "--etcd-key-file");
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *std::move(cert);
      ssl.pem_private_key = *std::move(key);
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    if (!options.ca_file.empty() || !options.cert_file.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--etcd-ca-file/--etcd-cert-file are for https endpoints; ",
                       options.endpoints[0], " is http"));
    }
    credentials = grpc::InsecureChannelCredentials();
  }
  std::unique_ptr<EtcdClient> client(new EtcdClient(options.endpoints, options.request_timeout));
  for (const std::string& endpoint : options.endpoints) {
    grpc::ChannelArguments args;
    // A dead member's streams are noticed in seconds, not at TCP's pace,
    // and a restarted one is found again quickly.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 5000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 3000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    // A List page or a large apply's response.
    args.SetMaxReceiveMessageSize(256 << 20);
    // Each member its own connection, even to one host.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    const std::string target = endpoint.substr(https ? 8 : 7);
    Member m;
    m.endpoint = endpoint;
    m.channel = grpc::CreateCustomChannel(target, credentials, args);
    m.kv = KV::NewStub(m.channel);
    m.lease = Lease::NewStub(m.channel);
    m.maintenance = Maintenance::NewStub(m.channel);
    client->members_.push_back(std::move(m));
  }
  return client;
}

absl::Status EtcdClient::FromGrpc(const grpc::Status& status, const std::string& endpoint) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("etcd ", endpoint, ": ", status.error_message()));
}

std::string EtcdClient::EndpointList() const { return absl::StrJoin(endpoints_, ","); }

template <typename Call>
absl::Status EtcdClient::Unary(const char* what, bool retry_unavailable, Call call, absl::Time by) {
  const absl::Time deadline = std::min(by, absl::Now() + timeout_);
  std::vector<std::string> unreachable;
  for (size_t attempt = 0; attempt < members_.size(); ++attempt) {
    const size_t raw = current_.load();
    Member& m = members_[raw % members_.size()];
    // Moves on unless another call already did.
    auto next = [this, raw] {
      size_t expected = raw;
      current_.compare_exchange_strong(expected, raw + 1);
    };
    // Connected first: a request goes only to a member that can take it,
    // so one that fails here was never sent and may go to the next member.
    const absl::Time connect_by = std::min(deadline, absl::Now() + kConnectTimeout);
    if (!m.channel->WaitForConnected(Deadline(connect_by))) {
      unreachable.push_back(m.endpoint);
      next();
      if (absl::Now() >= deadline) break;
      continue;
    }
    grpc::ClientContext context;
    context.set_deadline(Deadline(deadline));
    grpc::Status status = call(m, &context);
    if (status.ok()) return absl::OkStatus();
    // A member cut off from the others refuses before proposing anything:
    // the request is safe on another member.
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
        (retry_unavailable || absl::StrContains(status.error_message(), "no leader"))) {
      unreachable.push_back(absl::StrCat(m.endpoint, " (", status.error_message(), ")"));
      next();
      continue;
    }
    return FromGrpc(status, m.endpoint);
  }
  return absl::UnavailableError(
      absl::StrCat("etcd ", what, ": cannot reach a member that can serve it; tried ",
                   absl::StrJoin(unreachable, ", "), " of ", EndpointList()));
}

absl::StatusOr<int64_t> EtcdClient::Ping(absl::Duration timeout) {
  etcdserverpb::RangeRequest request;
  request.set_key(std::string(1, '\0'));
  request.set_count_only(true);
  request.set_serializable(true);
  etcdserverpb::RangeResponse response;
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last;
  for (int round = 0; absl::Now() < deadline && round < 100; ++round) {
    last = Unary(
        "range", /*retry_unavailable=*/true,
        [&](Member& m, grpc::ClientContext* c) { return m.kv->Range(c, request, &response); },
        deadline);
    if (last.ok()) return response.header().revision();
    if (!absl::IsUnavailable(last) && !absl::IsDeadlineExceeded(last)) return last;
  }
  return absl::UnavailableError(absl::StrCat("cannot reach etcd at ", EndpointList(), " within ",
                                             absl::FormatDuration(timeout), ": ", last.message()));
}

absl::Status EtcdClient::Range(const etcdserverpb::RangeRequest& request,
                               etcdserverpb::RangeResponse* response) {
  return Unary("range", /*retry_unavailable=*/true, [&](Member& m, grpc::ClientContext* c) {
    return m.kv->Range(c, request, response);
  });
}

absl::Status EtcdClient::Txn(const etcdserverpb::TxnRequest& request,
                             etcdserverpb::TxnResponse* response, absl::Time by) {
  return Unary(
      "txn", /*retry_unavailable=*/false,
      [&](Member& m, grpc::ClientContext* c) { return m.kv->Txn(c, request, response); }, by);
}

absl::Status EtcdClient::LeaseGrant(const etcdserverpb::LeaseGrantRequest& request,
                                    etcdserverpb::LeaseGrantResponse* response) {
  return Unary("lease grant", /*retry_unavailable=*/true, [&](Member& m, grpc::ClientContext* c) {
    return m.lease->LeaseGrant(c, request, response);
  });
}

absl::Status EtcdClient::LeaseRevoke(const etcdserverpb::LeaseRevokeRequest& request,
                                     etcdserverpb::LeaseRevokeResponse* response) {
  return Unary("lease revoke", /*retry_unavailable=*/true, [&](Member& m, grpc::ClientContext* c) {
    return m.lease->LeaseRevoke(c, request, response);
  });
}

absl::Status EtcdClient::Compact(const etcdserverpb::CompactionRequest& request,
                                 etcdserverpb::CompactionResponse* response) {
  return Unary("compact", /*retry_unavailable=*/true, [&](Member& m, grpc::ClientContext* c) {
    return m.kv->Compact(c, request, response);
  });
}

EtcdClient::StreamTarget EtcdClient::CurrentTarget() {
  // A member whose connection is failing (killed, unreachable) is passed
  // over while another one is not: a stream opened there would only fail.
  for (size_t tried = 0; tried + 1 < members_.size(); ++tried) {
    const size_t raw = current_.load();
    if (members_[raw % members_.size()].channel->GetState(/*try_to_connect=*/true) !=
        GRPC_CHANNEL_TRANSIENT_FAILURE) {
      break;
    }
    size_t expected = raw;
    current_.compare_exchange_strong(expected, raw + 1);
  }
  Member& m = members_[current_.load() % members_.size()];
  StreamTarget target;
  target.endpoint = m.endpoint;
  target.watch = etcdserverpb::Watch::NewStub(m.channel);
  target.lease = Lease::NewStub(m.channel);
  return target;
}

void EtcdClient::NextEndpoint() { current_.fetch_add(1); }

}  // namespace ferry::controller
