#ifndef FERRY_CONTROLLER_ETCD_FENCED_STORE_H_
#define FERRY_CONTROLLER_ETCD_FENCED_STORE_H_

// The store as the leader's fleet sees it: reads go straight to the
// EtcdStore; every Commit carries the leader lease's fence, so the Nodes,
// statuses and events of a replica that lost the lease (and does not know
// it yet) are refused by etcd instead of overwriting its successor's.
// The API's writes (any replica serves them) use the EtcdStore itself.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/etcd/etcd_store.h"
#include "controller/store/store.h"

namespace ferry::controller {

class FencedStore : public Store {
 public:
  FencedStore(EtcdStore* store, std::function<WriteFence()> fence)
      : store_(store), fence_(std::move(fence)) {}

  absl::StatusOr<int64_t> Commit(const std::vector<WriteOp>& ops) override {
    const WriteFence fence = fence_();
    if (fence.lease == 0) {
      return absl::AbortedError(absl::StrCat("not the leader: this replica holds no lease on ",
                                             fence.key, "; its fleet writes nothing"));
    }
    return store_->CommitFenced(ops, fence);
  }
  absl::StatusOr<StoredObject> Get(const std::string& kind, const std::string& name) override {
    return store_->Get(kind, name);
  }
  absl::Status GetMany(const std::string& kind, const std::vector<std::string>& names,
                       const std::function<void(size_t, const StoredObject&)>& visit) override {
    return store_->GetMany(kind, names, visit);
  }
  absl::StatusOr<int64_t> List(const std::string& kind,
                               const std::function<bool(const StoredObject&)>& visit) override {
    return store_->List(kind, visit);
  }
  int64_t CurrentRevision() override { return store_->CurrentRevision(); }
  absl::StatusOr<std::vector<Change>> ChangesSince(int64_t after, const std::string& kind,
                                                   size_t limit) override {
    return store_->ChangesSince(after, kind, limit);
  }
  bool WaitForChange(int64_t after, absl::Duration timeout) override {
    return store_->WaitForChange(after, timeout);
  }
  void StopWaiting() override { store_->StopWaiting(); }

 private:
  EtcdStore* const store_;
  const std::function<WriteFence()> fence_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_ETCD_FENCED_STORE_H_
