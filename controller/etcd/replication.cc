#include "controller/etcd/replication.h"

#include <utility>

namespace ferry::controller {

Replication::Replication(std::unique_ptr<EtcdStore> store, absl::Duration ttl)
    : store_(std::move(store)), ttl_(ttl), fenced_(store_.get(), [this] {
        return lease_ != nullptr ? lease_->fence() : WriteFence{store_->LeaderKey(), 0};
      }) {}

Replication::~Replication() { StopElection(); }

absl::StatusOr<std::unique_ptr<Replication>> Replication::Open(Options options) {
  absl::StatusOr<std::unique_ptr<EtcdStore>> store = EtcdStore::Open(options.store);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Replication>(new Replication(*std::move(store), options.lease_ttl));
}

absl::Status Replication::StartElection(const std::string& identity,
                                        std::function<void()> on_elected,
                                        std::function<void(const absl::Status&)> on_lost) {
  LeaderLease::Options options;
  options.key = store_->LeaderKey();
  options.identity = identity;
  options.ttl = ttl_;
  options.on_elected = std::move(on_elected);
  options.on_lost = std::move(on_lost);
  lease_ = std::make_unique<LeaderLease>(store_->client(), std::move(options));
  return lease_->Start();
}

void Replication::StopElection() {
  if (lease_ != nullptr) lease_->Stop();
}

}  // namespace ferry::controller
