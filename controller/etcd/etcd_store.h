#ifndef FERRY_CONTROLLER_ETCD_ETCD_STORE_H_
#define FERRY_CONTROLLER_ETCD_ETCD_STORE_H_

// Store on an etcd v3 cluster, for controllers that run as replicas: etcd
// replicates every write to a majority of its members before it answers,
// so a Commit that returned survives the loss of any minority of them.
//
// Layout under the prefix (default "/ferry/"):
//   <prefix>meta               which Ferry owns this prefix (ClaimOwner)
//   <prefix>leader             the leading controller, on its lease
//   <prefix>o/<kind>/<name>    one key per object; its value the object
// so a List is one key range, read in pages at one revision.
//
// The Store's revision is etcd's: a transaction's revision is every key's
// mod_revision, and a key's revision precondition is a Txn compare on it.
// Revisions are not consecutive here (other keys, other prefixes of a
// shared cluster move etcd's revision too); nothing above relies on that.
// The change log is an EtcdChangeLog (one watch, kept in memory).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/etcd/etcd_change_log.h"
#include "controller/etcd/etcd_client.h"
#include "controller/store/store.h"

namespace ferry::controller {

// A precondition on who writes: the key must be held by this lease.
struct WriteFence {
  std::string key;
  int64_t lease = 0;
};

class EtcdStore : public Store {
 public:
  struct Options {
    EtcdClientOptions client;
    std::string prefix = "/ferry/";
    // Changes kept in memory for watchers that are behind.
    size_t retained_changes = 100000;
    // How long Open waits for a member to answer.
    absl::Duration connect_timeout = absl::Seconds(10);
  };

  // Connects, checks the prefix and starts the change log. Refuses,
  // naming the endpoints and changing nothing: no member reachable, a
  // prefix that is not a path ("/ferry/"), and a prefix that holds keys
  // but no Ferry meta key (some other program's data).
  static absl::StatusOr<std::unique_ptr<EtcdStore>> Open(Options options);

  ~EtcdStore() override;

  // Marks the prefix as this Ferry's, by `owner` (its controller CA's
  // fingerprint), on first use; later refuses another owner's prefix,
  // naming both. Every replica of one Ferry shares its CA.
  absl::Status ClaimOwner(const std::string& owner);

  absl::StatusOr<int64_t> Commit(const std::vector<WriteOp>& ops) override;
  // Commit, only while `fence.key` is held by `fence.lease`: a leader that
  // lost its lease writes nothing (ABORTED "not the leader").
  absl::StatusOr<int64_t> CommitFenced(const std::vector<WriteOp>& ops, const WriteFence& fence);
  absl::StatusOr<StoredObject> Get(const std::string& kind, const std::string& name) override;
  absl::Status GetMany(const std::string& kind, const std::vector<std::string>& names,
                       const std::function<void(size_t, const StoredObject&)>& visit) override;
  absl::StatusOr<int64_t> List(const std::string& kind,
                               const std::function<bool(const StoredObject&)>& visit) override;
  int64_t CurrentRevision() override;
  absl::StatusOr<std::vector<Change>> ChangesSince(int64_t after, const std::string& kind,
                                                   size_t limit) override;
  bool WaitForChange(int64_t after, absl::Duration timeout) override;
  void StopWaiting() override;

  // Compacts etcd's history up to `revision` (what an operator's
  // auto-compaction does); for tests of a reader that falls behind.
  absl::Status CompactHistory(int64_t revision);

  EtcdClient* client() { return client_.get(); }
  const std::string& prefix() const { return prefix_; }
  std::string LeaderKey() const { return prefix_ + "leader"; }
  // "etcd http://a:2379,... prefix /ferry/", for messages.
  std::string Where() const;

 private:
  EtcdStore(std::unique_ptr<EtcdClient> client, std::string prefix);

  std::string ObjectKey(const std::string& kind, const std::string& name) const;
  std::string KindPrefix(const std::string& kind) const;
  bool ParseKey(const std::string& key, std::string* kind, std::string* name) const;
  absl::Status CheckPrefix(int64_t* revision);
  absl::StatusOr<int64_t> CommitTxn(const std::vector<WriteOp>& ops, const WriteFence* fence);
  // Pages through [key, end) at one revision.
  absl::StatusOr<int64_t> Scan(const std::string& key, const std::string& end,
                               const std::function<bool(mvccpb::KeyValue&)>& visit);

  const std::unique_ptr<EtcdClient> client_;
  const std::string prefix_;
  std::unique_ptr<EtcdChangeLog> log_;
};

// The end of etcd's key range for every key that starts with `prefix`.
std::string PrefixRangeEnd(const std::string& prefix);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_ETCD_ETCD_STORE_H_
