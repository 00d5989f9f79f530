#ifndef FERRY_CONTROLLER_RESOURCES_STORED_FORWARD_INDEX_H_
#define FERRY_CONTROLLER_RESOURCES_STORED_FORWARD_INDEX_H_

// The conflict-relevant state (name and spec) of every IPForward in the
// store, kept in memory so the write path checks a request of M forwards in
// O(M log N) instead of listing and decoding all N stored ones.
//
// It is loaded once (lazily, by the first CatchUp) and then follows the
// store's change log, so it stays exact whoever writes: the ObjectWriter
// (which records its own commits at once), the fleet reconciler (status
// writes, recognised by their unchanged spec bytes and skipped without a
// decode), or anything else that commits to the store. When the log has
// been compacted past it, it re-lists.
//
// Not thread-safe: the ObjectWriter calls it under its mutex. Given that
// mutex, once loaded, a thread of its own follows the log between calls, so that a
// status pass over N forwards is read in the background and an apply's
// CatchUp has only the last few changes left: an apply of one forward
// costs O(changes since the thread last caught up), not O(N).

#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "api/lib/objects.h"
#include "controller/planner/conflicts.h"
#include "controller/store/change_feed.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class StoredForwardIndex {
 public:
  explicit StoredForwardIndex(Store* store) : StoredForwardIndex(store, nullptr) {}
  // With `mu`, the mutex every caller holds while it calls this index:
  // from the first CatchUp on, a thread follows the log, taking `mu` to
  // apply each batch it read (the store is read without it). The store
  // must outlive the index.
  StoredForwardIndex(Store* store, absl::Mutex* mu);
  // Stops the thread: at once if the store has stopped waiting
  // (Store::StopWaiting), otherwise within kFollowPoll.
  ~StoredForwardIndex();
  StoredForwardIndex(const StoredForwardIndex&) = delete;
  StoredForwardIndex& operator=(const StoredForwardIndex&) = delete;

  // Brings the index up to at least the store's current revision. Errors
  // are the store's, or a stored forward that does not decode (then the next
  // call re-lists). With a following thread that is reading the next
  // changes, it waits for that read, releasing `mu` meanwhile: call it
  // before anything read under `mu` is relied on.
  absl::Status CatchUp();

  // Whether a forward of that name was stored at the last CatchUp (or is
  // staged). Only meaningful after a successful CatchUp.
  bool Contains(const std::string& name) const { return index_.Contains(name); }
  // The held name and spec, or nullopt.
  std::optional<ferry::v1::IPForward> Find(const std::string& name) const {
    return index_.Find(name);
  }

  // A request's forward, visible to Check as if stored, until Commit keeps
  // or Unstage drops every staged forward.
  void Stage(const ferry::v1::IPForward& forward);
  // Room for `n` more staged forwards, so that staging a large apply does
  // not regrow (and rehash) the index step by step.
  void ReserveStage(size_t n);
  absl::Status Check(const ferry::v1::IPForward& candidate) const {
    return index_.Check(candidate);
  }
  // Restores what the staged forwards replaced.
  void Unstage();
  // The staged forwards were committed at `revision`: they stay.
  void Committed(int64_t revision);
  // A forward was deleted at `revision` by this process.
  void Deleted(const std::string& name, int64_t revision);

  size_t size() const { return index_.size(); }
  // The revision up to which every change has been applied (0: not loaded).
  int64_t revision() const { return feed_.revision(); }

  // How long the following thread waits for a change before it looks
  // whether it should stop.
  static constexpr absl::Duration kFollowPoll = absl::Milliseconds(50);

 private:
  // Changes read per batch while catching up.
  static constexpr size_t kCatchUpBatch = 4096;

  struct Staged {
    std::string name;
    std::optional<std::string> replaced;  // its spec bytes; none: it was absent
  };

  absl::Status Reload();
  absl::Status ApplyChange(const Change& change);
  // Applies a batch read from the log; on an error the index is unloaded
  // (half applied: the next CatchUp re-lists).
  absl::Status ApplyBatch(const std::vector<Change>& changes);
  // Drops the staged forwards' records and their room.
  void ReleaseStaged();
  // Our own commit at `revision`: if nothing else committed since the last
  // change applied, the index is now exact at `revision`; otherwise the
  // next CatchUp replays the gap, our own commit included (idempotent).
  void Advance(int64_t revision);
  // The following thread's loop, and one round of it, which returns the
  // revision to wait past: where it stopped, or the store's revision after
  // an error (the next change retries).
  void Follow(int64_t seen);
  int64_t FollowOnce();
  bool NotReadingAhead() const { return reading_from_ != feed_.revision(); }
  bool NoOwnerWaiting() const { return owners_waiting_ == 0; }

  Store* const store_;
  absl::Mutex* const mu_;  // null: no following thread
  bool loaded_ = false;
  ChangeFeed feed_;  // where the index stands in the change log
  ConflictIndex index_;
  std::vector<Staged> staged_;
  // Where the thread's read in flight starts (-1: none), so that CatchUp
  // waits for it instead of reading the same changes.
  int64_t reading_from_ = -1;
  int owners_waiting_ = 0;  // in CatchUp, for that read
  absl::Notification stop_;
  std::thread follower_;
};

// The bytes of the IPForward's spec inside a stored Object value, found by
// walking the wire format without parsing anything else. nullopt when the
// value is not plainly one IPForward with at most one spec (the caller
// decodes it in full instead). An absent spec is an empty view.
std::optional<absl::string_view> ForwardSpecBytes(absl::string_view value);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_RESOURCES_STORED_FORWARD_INDEX_H_
