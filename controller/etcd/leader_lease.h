#ifndef FERRY_CONTROLLER_ETCD_LEADER_LEASE_H_
#define FERRY_CONTROLLER_ETCD_LEADER_LEASE_H_

// Leader election among controller replicas on one etcd, the way
// Kubernetes' and etcd's own election recipes do it: each replica keeps a
// lease alive; the leader is the replica whose lease holds the leader key
// (created only if absent, in a Txn). When the leader dies its lease
// expires after the TTL, etcd deletes the key, and the next campaign
// round of a follower creates it.
//
// Two safety nets against a leader that does not know it was replaced
// (paused, cut off from etcd):
//  - its writes are fenced: fence() goes into every fleet Commit as a Txn
//    compare on the leader key's lease, so after the key moved on they
//    write nothing;
//  - it steps down by itself (on_lost) once it has not renewed the lease
//    for a TTL less a margin, measured from when it sent the last renewal
//    that etcd answered: by then etcd may have let the lease go.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/etcd/etcd_client.h"
#include "controller/etcd/etcd_store.h"

namespace ferry::controller {

class LeaderLease {
 public:
  struct Options {
    std::string key;       // <prefix>leader
    std::string identity;  // this replica's agent address, for redirects
    absl::Duration ttl = absl::Seconds(10);
    // From the lease's thread, once, when this replica becomes the leader.
    std::function<void()> on_elected;
    // From the lease's thread, once, when the leader can no longer be sure
    // it holds the key. The controller exits: a restart comes back as a
    // follower with fresh state.
    std::function<void(const absl::Status&)> on_lost;
  };

  LeaderLease(EtcdClient* client, Options options);
  ~LeaderLease();

  LeaderLease(const LeaderLease&) = delete;
  LeaderLease& operator=(const LeaderLease&) = delete;

  // Grants the first lease and starts campaigning. Fails (naming the
  // endpoints) when etcd cannot grant one.
  absl::Status Start();
  // Stops; a leader deletes the key and revokes its lease, so a follower
  // takes over at its next round instead of after the TTL.
  void Stop();

  bool leading();
  // The leader's identity as last read; "" while none is known.
  std::string leader();
  // What a leader's writes are fenced with (lease 0 when not leading).
  WriteFence fence();

 private:
  void Run();
  void RenewLoop();
  // Grants a lease when none is held; renews it when due.
  absl::Status KeepAlive(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  // One round: create the key if absent, else read who holds it.
  absl::Status Campaign() ABSL_LOCKS_EXCLUDED(mu_);
  void Lose(const absl::Status& why) ABSL_LOCKS_EXCLUDED(mu_);

  EtcdClient* const client_;
  const Options options_;
  // How often a follower tries to take the key (and a leader checks it).
  const absl::Duration round_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool leading_ ABSL_GUARDED_BY(mu_) = false;
  bool lost_ ABSL_GUARDED_BY(mu_) = false;
  int64_t lease_ ABSL_GUARDED_BY(mu_) = 0;
  // Until when etcd surely keeps the lease: the send time of the last
  // answered renewal plus the TTL etcd answered with.
  absl::Time lease_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time renew_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string leader_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;
  std::thread renew_thread_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_ETCD_LEADER_LEASE_H_
