#ifndef FERRY_CONTROLLER_ETCD_REPLICATION_H_
#define FERRY_CONTROLLER_ETCD_REPLICATION_H_

// One controller replica on etcd: the shared store, the leader lease, and
// the fenced view of the store the leader's fleet writes through. Every
// replica serves the API (reads and writes go to etcd); only the leader
// reconciles and pushes, and agents are sent to it.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/etcd/etcd_store.h"
#include "controller/etcd/fenced_store.h"
#include "controller/etcd/leader_lease.h"

namespace ferry::controller {

class Replication {
 public:
  struct Options {
    EtcdStore::Options store;
    absl::Duration lease_ttl = absl::Seconds(10);
    // The leader compacts etcd's history this often, to the revision it
    // saw one interval before (kube-apiserver's way): watchers keep at
    // least an interval of history, and etcd does not grow without end.
    // Zero: never (the cluster compacts by itself).
    absl::Duration compaction_interval = absl::Minutes(5);
  };

  static absl::StatusOr<std::unique_ptr<Replication>> Open(Options options);
  ~Replication();

  // The store for the API and everything any replica may write.
  EtcdStore* store() { return store_.get(); }
  // The store for the leader's fleet: its commits carry the lease fence.
  Store* fleet_store() { return &fenced_; }

  // Campaigns as `identity` (the address agents reach this replica at).
  // `on_elected` starts the fleet; `on_lost` ends the process.
  absl::Status StartElection(const std::string& identity, std::function<void()> on_elected,
                             std::function<void(const absl::Status&)> on_lost);
  // Resigns: the leader hands the key over at once.
  void StopElection();

  bool leading() { return lease_ != nullptr && lease_->leading(); }
  std::string leader() { return lease_ != nullptr ? lease_->leader() : ""; }

 private:
  // Waits until the store's change log holds etcd's newest object write.
  absl::Status CatchUp(absl::Duration timeout);

  Replication(std::unique_ptr<EtcdStore> store, const Options& options);
  // The leader's compaction loop, until StopElection.
  void CompactLoop();

  const std::unique_ptr<EtcdStore> store_;
  const absl::Duration ttl_;
  const absl::Duration compaction_interval_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread compactor_;
  std::unique_ptr<LeaderLease> lease_;
  FencedStore fenced_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_ETCD_REPLICATION_H_
