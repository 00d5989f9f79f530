#ifndef FERRY_CONTROLLER_ETCD_ETCD_CHANGE_LOG_H_
#define FERRY_CONTROLLER_ETCD_ETCD_CHANGE_LOG_H_

// The Store change log of an EtcdStore: one etcd Watch on the objects'
// prefix, from the revision the store opened at, kept in memory for the
// controller's readers (the fleet's snapshot, the write path's index,
// ResourceService.Watch), each at its own pace. etcd keeps history too,
// but a watch per reader per poll would cost a stream each; one watch
// serves them all, as Kubernetes' watch cache does.
//
// The watch resumes from the revision after the last one it delivered
// when its stream breaks (a member died: the next one takes it). When etcd
// has compacted past that revision ("required revision has been
// compacted") the gap cannot be bridged: the log starts again at the
// compaction revision, the oldest etcd still has, and a reader behind it
// gets OUT_OF_RANGE and re-lists.

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/etcd/etcd_client.h"
#include "controller/store/store.h"

namespace ferry::controller {

class EtcdChangeLog {
 public:
  // Turns an etcd key under the watched prefix into (kind, name); false
  // for a key that is no object.
  using KeyParser =
      std::function<bool(const std::string& key, std::string* kind, std::string* name)>;
  // And back: (kind, name) to its etcd key.
  using KeyMaker = std::function<std::string(const std::string& kind, const std::string& name)>;

  struct Options {
    std::string key;  // the watched range: [key, range_end)
    std::string range_end;
    int64_t start_after = 0;  // the revision the store opened at
    size_t retained_changes = 100000;
  };

  EtcdChangeLog(EtcdClient* client, KeyParser parser, KeyMaker key_of, Options options);
  ~EtcdChangeLog();

  EtcdChangeLog(const EtcdChangeLog&) = delete;
  EtcdChangeLog& operator=(const EtcdChangeLog&) = delete;

  void Start();
  void Stop();

  // The revision of the last change delivered (or the start).
  int64_t revision();
  absl::StatusOr<std::vector<Change>> ChangesSince(int64_t after, const std::string& kind,
                                                   size_t limit);
  bool WaitForChange(int64_t after, absl::Duration timeout);
  // Waits until the log holds `revision` (a Commit's own), so that a
  // reader after the commit sees it. False on timeout or stop.
  bool WaitFor(int64_t revision, absl::Duration timeout);
  void StopWaiting();

 private:
  void Run();
  // One Watch stream, until it breaks or the log stops.
  absl::Status WatchOnce();
  void Append(std::vector<Change> changes, int64_t revision);
  // Fills in the value each deleted key had (changes[i] for i in
  // `deleted`), read at the revision before its delete.
  absl::Status RemovedValues(const std::vector<size_t>& deleted, std::vector<Change>* changes);
  // After a compaction the log cannot bridge: start again after
  // `revision` (no change at or before it is kept).
  void Restart(int64_t revision);

  EtcdClient* const client_;
  const KeyParser parser_;
  const KeyMaker key_of_;
  const Options options_;

  absl::Mutex mu_;
  std::deque<Change> changes_ ABSL_GUARDED_BY(mu_);
  int64_t start_ ABSL_GUARDED_BY(mu_);     // no change at or before this is kept
  int64_t revision_ ABSL_GUARDED_BY(mu_);  // every change up to here is kept
  bool stop_waiting_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* stream_context_ ABSL_GUARDED_BY(mu_) = nullptr;

  std::thread thread_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_ETCD_ETCD_CHANGE_LOG_H_
