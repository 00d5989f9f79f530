#ifndef FERRY_CONTROLLER_STORE_STORE_H_
#define FERRY_CONTROLLER_STORE_STORE_H_

// The controller's durable state: opaque values keyed by (kind, name), each
// write stamped with the store's global, monotonically increasing revision.
// Typed logic (generation, uid, status) lives above this interface, so an
// etcd backend can replace SQLite without touching it.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ferry::controller {

struct StoredObject {
  std::string kind;  // "IPForward", "Node"
  std::string name;
  std::string value;            // serialized ferry.v1.Object
  int64_t revision = 0;         // revision of the last write to this key
  int64_t create_revision = 0;  // revision that created it
};

// One write in a transaction. `expected_revision` is a precondition:
//   kAnyRevision: no check; kMustNotExist: create only;
//   otherwise the key's current revision must equal it.
struct WriteOp {
  static constexpr int64_t kAnyRevision = -1;
  static constexpr int64_t kMustNotExist = 0;
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  std::string kind;
  std::string name;
  std::string value;  // for kPut
  int64_t expected_revision = kAnyRevision;
};

struct Change {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  // object.revision is the change's own revision: where a reader resumes.
  // object.value: for kDelete, the value it removed; for kPut, the key's
  // value at that revision or a later one (see ChangesSince).
  StoredObject object;
  bool created = false;  // for kPut: the key did not exist before
};

// "IPForward/web", for messages.
std::string StoreKey(const std::string& kind, const std::string& name);

// What every backend refuses before it writes: an empty kind or name, a
// negative expected revision, a key written twice in one commit.
absl::Status ValidateWriteOps(const std::vector<WriteOp>& ops);

class Store {
 public:
  virtual ~Store() = default;

  // Applies all ops in one durable transaction (fsync'd before return) and
  // returns the new revision. A failed precondition is ABORTED naming the
  // key; then nothing is written. An empty op list returns the current one.
  virtual absl::StatusOr<int64_t> Commit(const std::vector<WriteOp>& ops) = 0;

  // NOT_FOUND if absent.
  virtual absl::StatusOr<StoredObject> Get(const std::string& kind, const std::string& name) = 0;

  // Calls visit(i, object) for each names[i] of `kind` that is stored
  // (absent ones are skipped), all from one consistent snapshot: a writer
  // that reads many keys pays for one read transaction, not one per key.
  virtual absl::Status GetMany(const std::string& kind, const std::vector<std::string>& names,
                               const std::function<void(size_t, const StoredObject&)>& visit) {
    for (size_t i = 0; i < names.size(); ++i) {
      absl::StatusOr<StoredObject> object = Get(kind, names[i]);
      if (absl::IsNotFound(object.status())) continue;
      if (!object.ok()) return object.status();
      visit(i, *object);
    }
    return absl::OkStatus();
  }

  // Visits every object of `kind` in name order, from one consistent
  // snapshot, without loading them all at once. Stops early if `visit`
  // returns false. Returns the snapshot's revision.
  virtual absl::StatusOr<int64_t> List(const std::string& kind,
                                       const std::function<bool(const StoredObject&)>& visit) = 0;

  virtual int64_t CurrentRevision() = 0;

  // Changes with revision > `after`, oldest first, at most `limit`, of
  // `kind` (all kinds if empty). OUT_OF_RANGE if `after` is older than the
  // retained change log (the watcher must re-list).
  //
  // Every write has its change, at its revision, with its `created` flag,
  // but a store may keep each value once: a put then carries the key's value
  // at the put's revision or a later one. When the key was written again
  // since, that is the newer value (the later put follows in the log, with
  // the same or a newer value); when it was deleted since, it is the value
  // the delete removed. A reader that applies changes in order thus holds,
  // once it has read to the end of the log, every key as of that end; in
  // between it may see a key ahead of the revision it has read up to, never
  // behind it, and a put's object.revision says where the reader is, not
  // which write produced the value.
  virtual absl::StatusOr<std::vector<Change>> ChangesSince(int64_t after, const std::string& kind,
                                                           size_t limit) = 0;

  // Blocks until CurrentRevision() > `after` or `timeout` passes. Returns
  // true if the revision advanced.
  virtual bool WaitForChange(int64_t after, absl::Duration timeout) = 0;

  // On shutdown: every WaitForChange, now and later, returns at once, so
  // the threads and streams waiting in one notice that they are to stop
  // without sitting out their poll interval.
  virtual void StopWaiting() = 0;
};

// What a wait for the store's next change ended with.
enum class StoreWait {
  kChanged,   // the revision moved past `after`
  kTimedOut,  // the timeout passed
  kStopped,   // the store stopped waiting (StopWaiting: shutting down)
};

// Store::WaitForChange, telling a timeout from a store that has stopped
// waiting: after StopWaiting every wait returns at once, so a follower loop
// that took that for a timeout would spin. One place for that reading.
StoreWait WaitForStoreChange(Store& store, int64_t after, absl::Duration timeout);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_STORE_STORE_H_
