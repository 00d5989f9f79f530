#include "controller/etcd/leader_lease.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"

namespace ferry::controller {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;

absl::Duration Clamp(absl::Duration d, absl::Duration lo, absl::Duration hi) {
  return std::max(lo, std::min(d, hi));
}

}  // namespace

LeaderLease::LeaderLease(EtcdClient* client, Options options)
    : client_(client),
      options_(std::move(options)),
      round_(Clamp(options_.ttl / 20, absl::Milliseconds(100), absl::Milliseconds(500))) {}

LeaderLease::~LeaderLease() { Stop(); }

absl::Status LeaderLease::Start() {
  if (options_.ttl < absl::Seconds(2)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--leader-lease-ttl ", absl::FormatDuration(options_.ttl),
                     " is too short: etcd leases are whole seconds, at least 2"));
  }
  if (absl::Status s = KeepAlive(absl::Now()); !s.ok()) return s;
  renew_thread_ = std::thread([this] { RenewLoop(); });
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void LeaderLease::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (renew_thread_.joinable()) renew_thread_.join();
  int64_t lease = 0;
  bool leading = false;
  {
    absl::MutexLock lock(&mu_);
    lease = lease_;
    leading = leading_;
    leading_ = false;
  }
  if (lease == 0) return;
  if (leading) {
    // Hand over now: the key goes, only if it is still ours.
    TxnRequest txn;
    Compare* ours = txn.add_compare();
    ours->set_key(options_.key);
    ours->set_target(Compare::LEASE);
    ours->set_result(Compare::EQUAL);
    ours->set_lease(lease);
    txn.add_success()->mutable_request_delete_range()->set_key(options_.key);
    TxnResponse response;
    if (absl::Status s = client_->Txn(txn, &response); !s.ok()) {
      LogWarning("could not hand the leader key over; a follower takes it after the lease TTL",
                 {{"error", s.ToString()}});
    }
  }
  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(lease);
  etcdserverpb::LeaseRevokeResponse revoked;
  client_->LeaseRevoke(revoke, &revoked).IgnoreError();
}

bool LeaderLease::leading() {
  absl::MutexLock lock(&mu_);
  return leading_;
}

std::string LeaderLease::leader() {
  absl::MutexLock lock(&mu_);
  return leader_;
}

WriteFence LeaderLease::fence() {
  absl::MutexLock lock(&mu_);
  return WriteFence{options_.key, leading_ ? lease_ : 0};
}

// Renewals on a thread of their own: a campaign round that waits on etcd
// (a write while etcd elects its own leader can take etcd's request
// timeout, seconds) never holds a renewal, or the step-down, back.
void LeaderLease::RenewLoop() {
  // A leader steps down this long before etcd could let its lease go.
  const absl::Duration margin = Clamp(options_.ttl / 10, absl::Milliseconds(200), absl::Seconds(1));
  absl::Time warned = absl::InfinitePast();
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_ || lost_) return;
    }
    absl::Status kept = KeepAlive(absl::Now());
    bool overdue = false;
    {
      absl::MutexLock lock(&mu_);
      overdue = leading_ && absl::Now() >= lease_until_ - margin;
    }
    if (overdue) {
      Lose(absl::UnavailableError(absl::StrCat(
          "the leader lease was not renewed within its TTL of ", absl::FormatDuration(options_.ttl),
          kept.ok() ? std::string() : absl::StrCat(": ", kept.message()))));
      return;
    }
    if (!kept.ok() && absl::Now() - warned > absl::Seconds(10)) {
      warned = absl::Now();
      LogWarning("leader election: lease renewal failed; retrying", {{"error", kept.ToString()}});
    }
    absl::MutexLock lock(&mu_);
    if (lost_) return;
    // Retried soon after a failure (KeepAlive moved renew_at_ close).
    const absl::Duration wait = Clamp(renew_at_ - absl::Now(), absl::Milliseconds(20), round_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
  }
}

void LeaderLease::Run() {
  absl::Time warned = absl::InfinitePast();
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_ || lost_) return;
    }
    absl::Status campaigned = Campaign();
    if (!campaigned.ok() && absl::Now() - warned > absl::Seconds(10)) {
      warned = absl::Now();
      LogWarning("leader election: etcd did not answer", {{"error", campaigned.ToString()}});
    }
    absl::MutexLock lock(&mu_);
    if (lost_) return;
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), round_);
  }
}

absl::Status LeaderLease::KeepAlive(absl::Time now) {
  int64_t lease = 0;
  {
    absl::MutexLock lock(&mu_);
    if (lease_ != 0 && now < renew_at_) return absl::OkStatus();
    lease = lease_;
  }
  const absl::Time sent = absl::Now();
  if (lease == 0) {
    etcdserverpb::LeaseGrantRequest grant;
    grant.set_ttl(absl::ToInt64Seconds(options_.ttl));
    etcdserverpb::LeaseGrantResponse granted;
    if (absl::Status s = client_->LeaseGrant(grant, &granted); !s.ok()) return s;
    if (!granted.error().empty()) {
      return absl::UnavailableError(absl::StrCat("etcd lease grant: ", granted.error()));
    }
    absl::MutexLock lock(&mu_);
    lease_ = granted.id();
    lease_until_ = sent + absl::Seconds(granted.ttl());
    renew_at_ = sent + options_.ttl / 4;
    return absl::OkStatus();
  }
  // One short stream per renewal: a stream's deadline bounds the wait for
  // a member that died, so a renewal never holds the step-down back.
  EtcdClient::StreamTarget target = client_->CurrentTarget();
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(
      sent + Clamp(options_.ttl / 5, absl::Milliseconds(400), absl::Seconds(2))));
  auto stream = target.lease->LeaseKeepAlive(&context);
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease);
  etcdserverpb::LeaseKeepAliveResponse response;
  const bool answered = stream->Write(request) && stream->Read(&response);
  stream->WritesDone();
  context.TryCancel();
  grpc::Status finished = stream->Finish();
  if (!answered) {
    client_->NextEndpoint();
    absl::MutexLock lock(&mu_);
    renew_at_ = absl::Now() + absl::Milliseconds(50);
    return finished.ok() ? absl::UnavailableError(absl::StrCat("etcd ", target.endpoint,
                                                               ": lease renewal not answered"))
                         : EtcdClient::FromGrpc(finished, target.endpoint);
  }
  bool lose = false;
  {
    absl::MutexLock lock(&mu_);
    if (response.ttl() > 0) {
      lease_until_ = sent + absl::Seconds(response.ttl());
      renew_at_ = sent + options_.ttl / 4;
      return absl::OkStatus();
    }
    // etcd let it go: a follower grants another; a leader has lost.
    lease_ = 0;
    lose = leading_;
  }
  if (lose) Lose(absl::UnavailableError("etcd expired the leader lease"));
  return absl::OkStatus();
}

absl::Status LeaderLease::Campaign() {
  int64_t lease = 0;
  {
    absl::MutexLock lock(&mu_);
    lease = lease_;
  }
  if (lease == 0) return absl::OkStatus();
  TxnRequest txn;
  Compare* absent = txn.add_compare();
  absent->set_key(options_.key);
  absent->set_target(Compare::CREATE);
  absent->set_result(Compare::EQUAL);
  absent->set_create_revision(0);
  etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(options_.key);
  put->set_value(options_.identity);
  put->set_lease(lease);
  txn.add_failure()->mutable_request_range()->set_key(options_.key);
  TxnResponse response;
  // Bounded: while etcd elects a leader of its own, a round gives up and
  // the next one tries again, rather than waiting out etcd's timeout.
  const absl::Time by =
      absl::Now() + Clamp(options_.ttl / 3, absl::Milliseconds(500), absl::Seconds(3));
  if (absl::Status s = client_->Txn(txn, &response, by); !s.ok()) {
    client_->NextEndpoint();
    return s;
  }
  if (response.succeeded()) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return absl::OkStatus();
      leading_ = true;
      leader_ = options_.identity;
    }
    LogInfo(
        "elected leader",
        {{"key", options_.key}, {"lease", absl::StrCat(lease)}, {"identity", options_.identity}});
    if (options_.on_elected) options_.on_elected();
    return absl::OkStatus();
  }
  const auto& read = response.responses(0).response_range();
  bool lose = false;
  int64_t holder = 0;
  {
    absl::MutexLock lock(&mu_);
    holder = read.kvs_size() > 0 ? read.kvs(0).lease() : 0;
    leader_ = read.kvs_size() > 0 ? read.kvs(0).value() : "";
    lose = leading_ && holder != lease;
  }
  if (lose) {
    Lose(absl::AbortedError(
        absl::StrCat("the leader key ", options_.key, " is now held by lease ", holder)));
  }
  return absl::OkStatus();
}

void LeaderLease::Lose(const absl::Status& why) {
  {
    absl::MutexLock lock(&mu_);
    if (lost_) return;
    lost_ = true;
    leading_ = false;
  }
  LogError("lost the leadership", {{"key", options_.key}, {"error", why.ToString()}});
  if (options_.on_lost) options_.on_lost(why);
}

}  // namespace ferry::controller
