#include "controller/etcd/replication.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/lib/log.h"

namespace ferry::controller {

Replication::Replication(std::unique_ptr<EtcdStore> store, const Options& options)
    : store_(std::move(store)),
      ttl_(options.lease_ttl),
      compaction_interval_(options.compaction_interval),
      fenced_(store_.get(), [this] {
        return lease_ != nullptr ? lease_->fence() : WriteFence{store_->LeaderKey(), 0};
      }) {}

Replication::~Replication() { StopElection(); }

absl::StatusOr<std::unique_ptr<Replication>> Replication::Open(Options options) {
  absl::StatusOr<std::unique_ptr<EtcdStore>> store = EtcdStore::Open(options.store);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Replication>(new Replication(*std::move(store), options));
}

absl::Status Replication::StartElection(const std::string& identity,
                                        std::function<void()> on_elected,
                                        std::function<void(const absl::Status&)> on_lost) {
  LeaderLease::Options options;
  options.key = store_->LeaderKey();
  options.identity = identity;
  options.ttl = ttl_;
  // Before the fleet starts: its first pass plans from this replica's
  // snapshot, which must hold every write the old leader could have seen.
  options.on_elected = [this, on_elected = std::move(on_elected)] {
    if (absl::Status s = CatchUp(absl::Seconds(5)); !s.ok()) {
      LogWarning("elected before the change log caught up; the next pass corrects it",
                 {{"error", s.ToString()}});
    }
    on_elected();
    if (compaction_interval_ > absl::ZeroDuration()) {
      compactor_ = std::thread([this] { CompactLoop(); });
    }
  };
  options.on_lost = std::move(on_lost);
  lease_ = std::make_unique<LeaderLease>(store_->client(), std::move(options));
  return lease_->Start();
}

absl::Status Replication::CatchUp(absl::Duration timeout) {
  // The newest write under the objects' prefix, by mod_revision.
  etcdserverpb::RangeRequest newest;
  newest.set_key(store_->prefix() + "o/");
  newest.set_range_end(PrefixRangeEnd(newest.key()));
  newest.set_sort_target(etcdserverpb::RangeRequest::MOD);
  newest.set_sort_order(etcdserverpb::RangeRequest::DESCEND);
  newest.set_limit(1);
  newest.set_keys_only(true);
  etcdserverpb::RangeResponse response;
  if (absl::Status s = store_->client()->Range(newest, &response); !s.ok()) return s;
  if (response.kvs_size() == 0) return absl::OkStatus();
  const int64_t target = response.kvs(0).mod_revision();
  const absl::Time deadline = absl::Now() + timeout;
  while (store_->CurrentRevision() < target) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the change log is at revision ", store_->CurrentRevision(), ", etcd at ", target));
    }
    if (WaitForStoreChange(*store_, store_->CurrentRevision(), absl::Milliseconds(100)) ==
        StoreWait::kStopped) {
      return absl::CancelledError("the store is shutting down");
    }
  }
  return absl::OkStatus();
}

void Replication::CompactLoop() {
  int64_t previous = 0;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), compaction_interval_)) return;
    }
    if (!leading()) return;
    // etcd's revision now, and history up to the one seen an interval ago
    // goes.
    etcdserverpb::RangeRequest ping;
    ping.set_key(store_->LeaderKey());
    ping.set_count_only(true);
    etcdserverpb::RangeResponse response;
    if (absl::Status s = store_->client()->Range(ping, &response); !s.ok()) continue;
    if (previous > 0) {
      absl::Status compacted = store_->CompactHistory(previous);
      // Someone compacted further already: as good.
      if (!compacted.ok() && !absl::StrContains(compacted.message(), "compacted")) {
        LogWarning("etcd compaction failed", {{"error", compacted.ToString()}});
      } else if (compacted.ok()) {
        LogDebug("etcd history compacted", {{"revision", absl::StrCat(previous)}});
      }
    }
    previous = response.header().revision();
  }
}

void Replication::StopElection() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  // The lease first: once it has stopped, no election can start a
  // compactor any more.
  if (lease_ != nullptr) lease_->Stop();
  if (compactor_.joinable()) compactor_.join();
}

}  // namespace ferry::controller
