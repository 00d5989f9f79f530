#ifndef FERRY_CONTROLLER_FLEET_FORWARD_STATUSES_H_
#define FERRY_CONTROLLER_FLEET_FORWARD_STATUSES_H_

// Every forward's status as the fleet last computed it. A status is
// observed state, derived from the plan and what the agents ACKed, so it
// is kept in memory and served over the stored spec (ResourceService), not
// written back as one store row per forward: after one ACK of a 100k-forward
// config that was 100k row updates and their change-log entries, the
// slowest part of the user's apply -> Ready.
//
// Watchers still see each status change in revision order: a publication
// commits one small marker row (kind kMarkerKind), whose revision stands
// for "these forwards' statuses changed", and ResourceService.Watch expands
// it into one MODIFIED event per forward named. After a restart the table
// starts empty and the first pass recomputes every status (agents that
// reconnect with the config they hold are adopted without a push).
//
// Replicas on etcd (Options::replicate): the leader's publications also
// rewrite the StatusBuckets they touch, in the marker's commit, so that a
// follower (Follow) lists the buckets once and then adopts each change it
// reads from the store's log: every replica serves statuses, and its
// watchers expand markers as the leader's do. A publication too large for
// one etcd request goes out as several, each a marker of its own.
//
// Thread-safe: the reconcile pass publishes, RPC threads read.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "controller/fleet/status_buckets.h"
#include "controller/store/change_feed.h"
#include "controller/store/store.h"

namespace ferry::controller {

class ForwardStatuses {
 public:
  // An encoded ferry.v1.IPForwardStatus. Equal statuses may share one.
  using Bytes = std::shared_ptr<const std::string>;
  using Table = absl::flat_hash_map<std::string, Bytes>;

  // The store kind of the marker row; never an API kind.
  static constexpr char kMarkerKind[] = "StatusRevision";
  // Names kept for watchers that are behind: one 100k publication plus
  // some. A watcher further behind is told to re-list.
  static constexpr size_t kRetainedNames = 262144;

  struct Update {
    std::string name;
    Bytes status;  // null: the forward is gone, forget its status
  };

  struct Options {
    size_t retained_names = kRetainedNames;
    // Share statuses with other replicas through StatusBuckets.
    bool replicate = false;
    // One commit's bounds when replicating (etcd's defaults: 1.5 MiB per
    // request, 128 operations per transaction).
    size_t max_commit_bytes = 1 << 20;
    size_t max_commit_ops = 100;
  };

  explicit ForwardStatuses(Store* store, size_t retained_names = kRetainedNames);
  ForwardStatuses(Store* store, Options options);
  ~ForwardStatuses();

  ForwardStatuses(const ForwardStatuses&) = delete;
  ForwardStatuses& operator=(const ForwardStatuses&) = delete;

  // Makes `updates` the statuses, as one change at a fresh store revision,
  // returned. On a failed marker commit nothing changes.
  absl::StatusOr<int64_t> Publish(std::vector<Update> updates);

  // A follower replica: adopts the leader's statuses from the store, in
  // the background and before a ChangedAt it has not seen yet, until Lead.
  void Follow();
  // Elected: stops adopting; this replica publishes from now on.
  void Lead();

  // The forward's status; null if none was computed (yet).
  Bytes Get(const std::string& name) const;
  // Each names[i]'s status (null if none), under one lock.
  std::vector<Bytes> GetMany(absl::Span<const std::string> names) const;

  // Every forward with a status.
  std::vector<std::string> Names() const;
  // How many forwards have a status.
  size_t size() const;

  // The forwards whose status changed at `revision`, a marker revision;
  // OUT_OF_RANGE when no longer retained (or published before this
  // process started): the watcher re-lists.
  // A follower first catches up with the leader's buckets.
  absl::StatusOr<std::shared_ptr<const std::vector<std::string>>> ChangedAt(int64_t revision) const;

  // Holds publications back from construction until Take: a List opens its
  // store snapshot in between, then takes the statuses, which are thus
  // exactly those of the snapshot's revision (markers commit only under the
  // lock this holds).
  class Pin {
   public:
    explicit Pin(const ForwardStatuses* statuses);
    ~Pin();
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    // A copy of the table, and publications resume. Once only.
    Table Take();

   private:
    const ForwardStatuses* statuses_;
    bool held_ = true;
  };

 private:
  absl::StatusOr<int64_t> PublishInBuckets(std::vector<Update> updates)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits one marker (with these buckets' new values, when
  // replicating), then applies the updates.
  absl::StatusOr<int64_t> CommitChunk(std::vector<WriteOp> ops, std::vector<Update> updates)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Apply(Update update) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Record(int64_t revision, std::vector<std::string> names) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FollowLoop();
  // Reads the buckets' changes up to the log's end (lists them first).
  absl::Status CatchUp() ABSL_EXCLUSIVE_LOCKS_REQUIRED(follow_mu_);
  // A follower's view of one bucket's new value at `revision`.
  void Adopt(size_t bucket, StatusBuckets::Bucket value, int64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Store* const store_;
  const Options options_;
  const size_t retained_names_;
  mutable absl::Mutex mu_;
  Table table_ ABSL_GUARDED_BY(mu_);
  // Marker revision -> the forwards it names, oldest first.
  std::map<int64_t, std::shared_ptr<const std::vector<std::string>>> log_ ABSL_GUARDED_BY(mu_);
  size_t logged_names_ ABSL_GUARDED_BY(mu_) = 0;
  // With replicate: the table again, by bucket.
  std::vector<StatusBuckets::Bucket> buckets_ ABSL_GUARDED_BY(mu_);

  // A follower's place in the store's log of buckets.
  mutable absl::Mutex follow_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::unique_ptr<ChangeFeed> feed_ ABSL_GUARDED_BY(follow_mu_);
  std::atomic<bool> following_{false};
  std::atomic<bool> follow_stop_{false};
  std::thread follow_thread_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_FLEET_FORWARD_STATUSES_H_
