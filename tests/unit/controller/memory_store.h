#ifndef FERRY_TESTS_UNIT_CONTROLLER_MEMORY_STORE_H_
#define FERRY_TESTS_UNIT_CONTROLLER_MEMORY_STORE_H_

// An in-memory Store for tests: transactional (all ops or none), with the
// same preconditions and revision rules as the durable one, a hook to fail
// the next Commit, and one that sees every Commit before it lands.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "controller/store/object_codec.h"
#include "controller/store/store.h"

namespace ferry::controller {

class MemoryStore : public Store {
 public:
  // Set before the store is shared between threads.
  std::function<void(const std::vector<WriteOp>&)> before_commit;

  absl::StatusOr<int64_t> Commit(const std::vector<WriteOp>& ops) override {
    // Outside mu_, so the hook may read the store (and do what another
    // thread would do while this commit runs).
    if (before_commit) before_commit(ops);
    absl::MutexLock l(&mu_);
    if (fail_next_commit_) {
      absl::Status s = *std::move(fail_next_commit_);
      fail_next_commit_.reset();
      return s;
    }
    if (ops.empty()) return revision_;
    for (const WriteOp& op : ops) {
      auto it = objects_.find({op.kind, op.name});
      int64_t current = it == objects_.end() ? 0 : it->second.revision;
      if (op.expected_revision != WriteOp::kAnyRevision && op.expected_revision != current) {
        return absl::AbortedError(absl::StrCat(op.kind, "/", op.name, ": expected revision ",
                                               op.expected_revision, ", have ", current));
      }
    }
    ++revision_;
    for (const WriteOp& op : ops) {
      Key key{op.kind, op.name};
      auto it = objects_.find(key);
      Change change;
      if (op.type == WriteOp::Type::kDelete) {
        if (it == objects_.end()) continue;
        change.type = Change::Type::kDelete;
        change.object = it->second;
        change.object.revision = revision_;  // the change's revision
        objects_.erase(it);
      } else {
        StoredObject& o = objects_[key];
        change.created = it == objects_.end();
        o.kind = op.kind;
        o.name = op.name;
        o.value = op.value;
        o.revision = revision_;
        if (change.created) o.create_revision = revision_;
        change.object = o;
      }
      changes_.push_back(std::move(change));
    }
    ++commits_;
    return revision_;
  }

  absl::StatusOr<StoredObject> Get(const std::string& kind, const std::string& name) override {
    absl::MutexLock l(&mu_);
    auto it = objects_.find({kind, name});
    if (it == objects_.end()) return absl::NotFoundError(absl::StrCat(kind, "/", name));
    return it->second;
  }

  absl::StatusOr<int64_t> List(const std::string& kind,
                               const std::function<bool(const StoredObject&)>& visit) override {
    std::vector<StoredObject> snapshot;
    int64_t revision;
    {
      absl::MutexLock l(&mu_);
      revision = revision_;
      for (const auto& [key, o] : objects_) {
        if (key.first == kind) snapshot.push_back(o);
      }
    }
    for (const StoredObject& o : snapshot) {
      if (!visit(o)) break;
    }
    return revision;
  }

  int64_t CurrentRevision() override {
    absl::MutexLock l(&mu_);
    return revision_;
  }

  absl::StatusOr<std::vector<Change>> ChangesSince(int64_t after, const std::string& kind,
                                                   size_t limit) override {
    absl::MutexLock l(&mu_);
    std::vector<Change> out;
    for (const Change& c : changes_) {
      if (out.size() >= limit) break;
      if (c.object.revision <= after) continue;
      if (!kind.empty() && c.object.kind != kind) continue;
      if (c.object.kind == kKindIPForward) ++forward_changes_read_;
      out.push_back(c);
    }
    return out;
  }

  // IPForward change-log rows returned by ChangesSince so far.
  int forward_changes_read() {
    absl::MutexLock l(&mu_);
    return forward_changes_read_;
  }

  bool WaitForChange(int64_t after, absl::Duration timeout) override {
    absl::MutexLock l(&mu_);
    auto advanced = [this, after]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return revision_ > after || stop_waiting_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&advanced), timeout);
    return revision_ > after;
  }

  void StopWaiting() override {
    absl::MutexLock l(&mu_);
    stop_waiting_ = true;
  }

  void FailNextCommit(absl::Status status) {
    absl::MutexLock l(&mu_);
    fail_next_commit_ = std::move(status);
  }

  // Successful non-empty commits so far.
  int commits() {
    absl::MutexLock l(&mu_);
    return commits_;
  }

 private:
  using Key = std::pair<std::string, std::string>;
  absl::Mutex mu_;
  int forward_changes_read_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<Key, StoredObject> objects_ ABSL_GUARDED_BY(mu_);
  std::vector<Change> changes_ ABSL_GUARDED_BY(mu_);
  int64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_waiting_ ABSL_GUARDED_BY(mu_) = false;
  int commits_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<absl::Status> fail_next_commit_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controller

#endif  // FERRY_TESTS_UNIT_CONTROLLER_MEMORY_STORE_H_
