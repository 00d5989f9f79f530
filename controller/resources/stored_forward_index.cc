#include "controller/resources/stored_forward_index.h"

#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "api/lib/objects.h"
#include "controller/store/object_codec.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace ferry::controller {
namespace {

using google::protobuf::internal::WireFormatLite;

// Field numbers in api/proto/ferry/v1/ferry.proto.
constexpr int kObjectIpForwardField = 1;
constexpr int kIPForwardSpecField = 4;

enum class Field { kAbsent, kFound, kUnusual };

// Finds the length-delimited field `number` among a message's top-level
// fields. kUnusual if the bytes do not parse or it appears more than once
// (protobuf would merge the copies; the caller then parses in full).
Field FindField(absl::string_view message, int number, absl::string_view* out) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(message.data()),
                                            static_cast<int>(message.size()));
  bool found = false;
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    if (WireFormatLite::GetTagFieldNumber(tag) != number) {
      if (!WireFormatLite::SkipField(&in, tag)) return Field::kUnusual;
      continue;
    }
    uint32_t length = 0;
    if (found || WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED ||
        !in.ReadVarint32(&length)) {
      return Field::kUnusual;
    }
    const size_t at = static_cast<size_t>(in.CurrentPosition());
    if (length > message.size() - at || !in.Skip(static_cast<int>(length))) {
      return Field::kUnusual;
    }
    *out = message.substr(at, length);
    found = true;
  }
  // ReadTag also answers 0 for a malformed tag; only the end is clean.
  if (static_cast<size_t>(in.CurrentPosition()) != message.size()) return Field::kUnusual;
  return found ? Field::kFound : Field::kAbsent;
}

// Holds the stored forward's name (its key) and spec, as the spec bytes
// inside the value when they parse; otherwise decodes the whole value.
absl::Status PutStored(const StoredObject& stored, ConflictIndex* index) {
  std::optional<absl::string_view> spec = ForwardSpecBytes(stored.value);
  if (spec.has_value() && index->PutSpecBytes(stored.name, *spec)) return absl::OkStatus();
  absl::StatusOr<ferry::v1::Object> object = DecodeStored(stored);
  if (!object.ok()) return object.status();
  ferry::v1::IPForward* forward = object->mutable_ip_forward();
  forward->mutable_metadata()->set_name(stored.name);
  index->Put(*forward);
  return absl::OkStatus();
}

}  // namespace

std::optional<absl::string_view> ForwardSpecBytes(absl::string_view value) {
  absl::string_view forward;
  if (FindField(value, kObjectIpForwardField, &forward) != Field::kFound) return std::nullopt;
  absl::string_view spec;
  switch (FindField(forward, kIPForwardSpecField, &spec)) {
    case Field::kFound:
      return spec;
    case Field::kAbsent:
      return absl::string_view();
    case Field::kUnusual:
      break;
  }
  return std::nullopt;
}

StoredForwardIndex::StoredForwardIndex(Store* store, absl::Mutex* mu)
    : store_(store), mu_(mu), feed_(store, api::kKindIPForward, kCatchUpBatch) {}

StoredForwardIndex::~StoredForwardIndex() {
  stop_.Notify();
  if (follower_.joinable()) follower_.join();
}

absl::Status StoredForwardIndex::CatchUp() {
  Unstage();
  if (!loaded_) {
    absl::Status loaded = Reload();
    // Started by the first load, so that an index never used (a writer
    // that only ever sees nodes) costs no thread.
    if (loaded.ok() && mu_ != nullptr && !follower_.joinable()) {
      follower_ = std::thread([this, from = feed_.revision()] { Follow(from); });
    }
    return loaded;
  }
  if (mu_ != nullptr) {
    // The thread is reading what this would read (one revision of a status
    // pass may be 100k changes): wait for it rather than read it twice.
    ++owners_waiting_;  // and the thread starts no new read meanwhile
    mu_->Await(absl::Condition(this, &StoredForwardIndex::NotReadingAhead));
    --owners_waiting_;
    if (!loaded_) return Reload();  // its batch failed
  }
  // Changes committed after this are concurrent with the caller's request,
  // as they were with a List; catching up to here keeps the loop bounded.
  const int64_t target = store_->CurrentRevision();
  while (feed_.revision() < target) {
    absl::StatusOr<ChangeFeed::Batch> batch = feed_.Next();
    if (absl::IsOutOfRange(batch.status())) return Reload();
    if (!batch.ok()) return batch.status();
    if (absl::Status s = ApplyBatch(batch->changes); !s.ok()) return s;
    if (batch->at_end) break;
  }
  return absl::OkStatus();
}

absl::Status StoredForwardIndex::ApplyBatch(const std::vector<Change>& changes) {
  for (const Change& change : changes) {
    if (absl::Status s = ApplyChange(change); !s.ok()) {
      loaded_ = false;  // half applied: start over from a List next time
      return s;
    }
  }
  return absl::OkStatus();
}

void StoredForwardIndex::Follow(int64_t seen) {
  while (!stop_.HasBeenNotified()) {
    switch (WaitForStoreChange(*store_, seen, kFollowPoll)) {
      case StoreWait::kChanged:
        seen = FollowOnce();
        break;
      case StoreWait::kStopped:
        // Shutting down: wait for our own stop instead of spinning.
        stop_.WaitForNotificationWithTimeout(kFollowPoll);
        break;
      case StoreWait::kTimedOut:
        break;
    }
  }
}

// The store is read without the lock, so the owner waits only while a
// batch is applied; a batch read from a place the owner has since moved
// the index past is dropped, and the next one starts from there.
int64_t StoredForwardIndex::FollowOnce() {
  while (!stop_.HasBeenNotified()) {
    int64_t from = 0;
    {
      absl::MutexLock lock(mu_);
      // An owner waiting in CatchUp reads the rest itself: let it in first.
      mu_->Await(absl::Condition(this, &StoredForwardIndex::NoOwnerWaiting));
      if (!loaded_) {
        // Unloaded by an error: the next change retries, as an apply would.
        return Reload().ok() ? feed_.revision() : store_->CurrentRevision();
      }
      from = feed_.revision();
      if (from >= store_->CurrentRevision()) return from;
      reading_from_ = from;
    }
    ChangeFeed feed(store_, api::kKindIPForward, kCatchUpBatch, from);
    absl::StatusOr<ChangeFeed::Batch> batch = feed.Next();
    absl::MutexLock lock(mu_);
    reading_from_ = -1;
    if (!loaded_ || feed_.revision() != from) continue;
    if (absl::IsOutOfRange(batch.status())) {
      return Reload().ok() ? feed_.revision() : store_->CurrentRevision();
    }
    if (!batch.ok() || !ApplyBatch(batch->changes).ok()) return store_->CurrentRevision();
    feed_.Reset(feed.revision());
  }
  return 0;
}

absl::Status StoredForwardIndex::Reload() {
  ConflictIndex fresh;
  absl::Status failed;
  absl::StatusOr<int64_t> listed =
      store_->List(api::kKindIPForward, [&](const StoredObject& stored) {
        failed = PutStored(stored, &fresh);
        return failed.ok();
      });
  if (!listed.ok()) return listed.status();
  if (!failed.ok()) return failed;
  index_ = std::move(fresh);
  feed_.Reset(*listed);
  loaded_ = true;
  return absl::OkStatus();
}

absl::Status StoredForwardIndex::ApplyChange(const Change& change) {
  const std::string& name = change.object.name;
  if (change.type == Change::Type::kDelete) {
    index_.Remove(name);
    return absl::OkStatus();
  }
  // Most puts are status writes: the spec bytes are those held.
  std::optional<absl::string_view> held = index_.SpecBytes(name);
  if (held.has_value()) {
    std::optional<absl::string_view> spec = ForwardSpecBytes(change.object.value);
    if (spec.has_value() && *held == *spec) return absl::OkStatus();
  }
  return PutStored(change.object, &index_);
}

void StoredForwardIndex::Stage(const ferry::v1::IPForward& forward) {
  Staged staged;
  staged.name = forward.metadata().name();
  if (std::optional<absl::string_view> held = index_.SpecBytes(staged.name); held.has_value()) {
    staged.replaced = std::string(*held);
  }
  staged_.push_back(std::move(staged));
  index_.Put(forward);
}

void StoredForwardIndex::ReserveStage(size_t n) {
  staged_.reserve(staged_.size() + n);
  index_.Reserve(n);
}

void StoredForwardIndex::Unstage() {
  // Newest first, so a name staged twice gets its original back.
  for (auto it = staged_.rbegin(); it != staged_.rend(); ++it) {
    if (it->replaced.has_value()) {
      // Cannot fail: the bytes parsed when they were first held.
      (void)index_.PutSpecBytes(it->name, *it->replaced);
    } else {
      index_.Remove(it->name);
    }
  }
  ReleaseStaged();
}

void StoredForwardIndex::Committed(int64_t revision) {
  ReleaseStaged();
  Advance(revision);
}

void StoredForwardIndex::ReleaseStaged() {
  // Freed, not only emptied: a 100k apply's room is 7 MB held for good.
  std::vector<Staged>().swap(staged_);
}

void StoredForwardIndex::Deleted(const std::string& name, int64_t revision) {
  if (!loaded_) return;
  index_.Remove(name);
  Advance(revision);
}

void StoredForwardIndex::Advance(int64_t revision) {
  if (loaded_ && revision == feed_.revision() + 1) feed_.Reset(revision);
}

}  // namespace ferry::controller
