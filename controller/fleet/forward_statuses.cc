#include "controller/fleet/forward_statuses.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"

namespace ferry::controller {

namespace {

WriteOp Marker() {
  WriteOp marker;
  marker.kind = ForwardStatuses::kMarkerKind;
  marker.name = "ipforwards";
  return marker;
}

// How long a follower waits for the store between catch-ups.
constexpr absl::Duration kFollowPoll = absl::Milliseconds(500);
// Bucket changes read per batch.
constexpr size_t kFollowBatch = 256;

}  // namespace

ForwardStatuses::ForwardStatuses(Store* store, size_t retained_names)
    : ForwardStatuses(store, Options{retained_names}) {}

ForwardStatuses::ForwardStatuses(Store* store, Options options)
    : store_(store), options_(options), retained_names_(options.retained_names) {
  if (options_.replicate) buckets_.resize(StatusBuckets::kCount);
}

ForwardStatuses::~ForwardStatuses() { Lead(); }

absl::StatusOr<int64_t> ForwardStatuses::Publish(std::vector<Update> updates) {
  absl::MutexLock lock(&mu_);
  if (options_.replicate) return PublishInBuckets(std::move(updates));
  // Committed under the lock: a Pin's store snapshot then sees a marker
  // only together with the statuses it stands for.
  return CommitChunk({}, std::move(updates));
}

void ForwardStatuses::Apply(Update update) {
  if (options_.replicate) {
    StatusBuckets::Bucket& bucket = buckets_[StatusBuckets::Of(update.name)];
    if (update.status == nullptr) {
      bucket.erase(update.name);
    } else {
      bucket.insert_or_assign(update.name, update.status);
    }
  }
  if (update.status == nullptr) {
    table_.erase(update.name);
  } else {
    table_.insert_or_assign(std::move(update.name), std::move(update.status));
  }
}

void ForwardStatuses::Record(int64_t revision, std::vector<std::string> names) {
  logged_names_ += names.size();
  auto it = log_.find(revision);
  if (it == log_.end()) {
    log_.emplace(revision, std::make_shared<const std::vector<std::string>>(std::move(names)));
  } else {
    // Several buckets of one commit: one entry.
    std::vector<std::string> merged = *it->second;
    merged.insert(merged.end(), std::make_move_iterator(names.begin()),
                  std::make_move_iterator(names.end()));
    it->second = std::make_shared<const std::vector<std::string>>(std::move(merged));
  }
  while (logged_names_ > retained_names_ && log_.size() > 1) {
    logged_names_ -= log_.begin()->second->size();
    log_.erase(log_.begin());
  }
}

absl::StatusOr<int64_t> ForwardStatuses::PublishInBuckets(std::vector<Update> updates) {
  std::map<size_t, std::vector<Update>> by_bucket;
  for (Update& update : updates) {
    const size_t b = StatusBuckets::Of(update.name);
    by_bucket[b].push_back(std::move(update));
  }
  std::vector<WriteOp> ops;
  std::vector<Update> chunk;
  size_t bytes = 0;
  int64_t revision = 0;
  for (auto& [index, bucket_updates] : by_bucket) {
    StatusBuckets::Bucket next = buckets_[index];
    for (const Update& u : bucket_updates) {
      if (u.status == nullptr) {
        next.erase(u.name);
      } else {
        next.insert_or_assign(u.name, u.status);
      }
    }
    WriteOp put;
    put.kind = StatusBuckets::kKind;
    put.name = StatusBuckets::Name(index);
    put.value = StatusBuckets::Encode(next);
    if (!ops.empty() && (bytes + put.value.size() > options_.max_commit_bytes ||
                         ops.size() + 1 >= options_.max_commit_ops)) {
      absl::StatusOr<int64_t> committed = CommitChunk(std::move(ops), std::move(chunk));
      if (!committed.ok()) return committed.status();
      revision = *committed;
      ops.clear();
      chunk.clear();
      bytes = 0;
    }
    bytes += put.value.size();
    ops.push_back(std::move(put));
    for (Update& u : bucket_updates) chunk.push_back(std::move(u));
  }
  if (!ops.empty() || revision == 0) {
    absl::StatusOr<int64_t> committed = CommitChunk(std::move(ops), std::move(chunk));
    if (!committed.ok()) return committed.status();
    revision = *committed;
  }
  return revision;
}

absl::StatusOr<int64_t> ForwardStatuses::CommitChunk(std::vector<WriteOp> ops,
                                                     std::vector<Update> updates) {
  ops.push_back(Marker());
  absl::StatusOr<int64_t> revision = store_->Commit(ops);
  if (!revision.ok()) return revision.status();
  std::vector<std::string> names;
  names.reserve(updates.size());
  for (Update& update : updates) {
    names.push_back(update.name);
    Apply(std::move(update));
  }
  Record(*revision, std::move(names));
  return *revision;
}

void ForwardStatuses::Follow() {
  if (!options_.replicate || following_.exchange(true)) return;
  follow_thread_ = std::thread([this] { FollowLoop(); });
}

void ForwardStatuses::Lead() {
  follow_stop_ = true;
  if (follow_thread_.joinable()) follow_thread_.join();
  following_ = false;
}

void ForwardStatuses::FollowLoop() {
  absl::Time warned = absl::InfinitePast();
  while (!follow_stop_.load()) {
    const int64_t revision = store_->CurrentRevision();
    absl::Status caught_up;
    {
      absl::MutexLock lock(&follow_mu_);
      caught_up = CatchUp();
    }
    if (!caught_up.ok() && absl::Now() - warned > absl::Seconds(10)) {
      warned = absl::Now();
      LogWarning("follower: reading the leader's statuses failed; retrying",
                 {{"error", caught_up.ToString()}});
    }
    if (WaitForStoreChange(*store_, revision, kFollowPoll) == StoreWait::kStopped) return;
  }
}

absl::Status ForwardStatuses::CatchUp() {
  if (feed_ == nullptr) {
    std::vector<StatusBuckets::Bucket> listed(StatusBuckets::kCount);
    absl::StatusOr<int64_t> revision =
        store_->List(StatusBuckets::kKind, [&](const StoredObject& stored) {
          const size_t index = StatusBuckets::Parse(stored.name);
          if (index == StatusBuckets::kCount) return true;
          absl::StatusOr<StatusBuckets::Bucket> bucket = StatusBuckets::Decode(stored.value);
          if (bucket.ok()) listed[index] = *std::move(bucket);
          return true;
        });
    if (!revision.ok()) return revision.status();
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < listed.size(); ++i) Adopt(i, std::move(listed[i]), *revision);
    feed_ = std::make_unique<ChangeFeed>(store_, StatusBuckets::kKind, kFollowBatch, *revision);
  }
  // Bounded: a log that grows faster than this reads is caught up next time.
  for (int round = 0; round < 1000; ++round) {
    absl::StatusOr<ChangeFeed::Batch> batch = feed_->Next();
    if (absl::IsOutOfRange(batch.status())) {
      feed_.reset();  // fell behind the log: list again
      return CatchUp();
    }
    if (!batch.ok()) return batch.status();
    absl::MutexLock lock(&mu_);
    for (const Change& change : batch->changes) {
      const size_t index = StatusBuckets::Parse(change.object.name);
      if (index == StatusBuckets::kCount) continue;
      StatusBuckets::Bucket value;
      if (change.type == Change::Type::kPut) {
        absl::StatusOr<StatusBuckets::Bucket> decoded = StatusBuckets::Decode(change.object.value);
        if (!decoded.ok()) return decoded.status();
        value = *std::move(decoded);
      }
      Adopt(index, std::move(value), change.object.revision);
    }
    if (batch->at_end) return absl::OkStatus();
  }
  return absl::OkStatus();
}

void ForwardStatuses::Adopt(size_t index, StatusBuckets::Bucket value, int64_t revision) {
  StatusBuckets::Bucket& old = buckets_[index];
  std::vector<std::string> changed;
  for (const auto& [name, status] : old) {
    if (value.count(name) == 0) {
      table_.erase(name);
      changed.push_back(name);
    }
  }
  for (const auto& [name, status] : value) {
    auto it = old.find(name);
    if (it != old.end() && *it->second == *status) continue;
    table_.insert_or_assign(name, status);
    changed.push_back(name);
  }
  old = std::move(value);
  Record(revision, std::move(changed));
}

ForwardStatuses::Bytes ForwardStatuses::Get(const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = table_.find(name);
  return it == table_.end() ? nullptr : it->second;
}

std::vector<ForwardStatuses::Bytes> ForwardStatuses::GetMany(
    absl::Span<const std::string> names) const {
  std::vector<Bytes> out;
  out.reserve(names.size());
  absl::ReaderMutexLock lock(&mu_);
  for (const std::string& name : names) {
    auto it = table_.find(name);
    out.push_back(it == table_.end() ? nullptr : it->second);
  }
  return out;
}

std::vector<std::string> ForwardStatuses::Names() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> names;
  names.reserve(table_.size());
  for (const auto& [name, status] : table_) names.push_back(name);
  return names;
}

size_t ForwardStatuses::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return table_.size();
}

absl::StatusOr<std::shared_ptr<const std::vector<std::string>>> ForwardStatuses::ChangedAt(
    int64_t revision) const {
  if (following_.load()) {
    // A watcher may read the leader's marker before the background
    // catch-up did: catch up now, so the marker expands here as it would
    // on the leader. (Const for readers; this changes only the cache.)
    auto* self = const_cast<ForwardStatuses*>(this);
    absl::MutexLock follow(&self->follow_mu_);
    if (absl::Status s = self->CatchUp(); !s.ok()) return s;
  }
  absl::ReaderMutexLock lock(&mu_);
  auto it = log_.find(revision);
  if (it == log_.end() && following_.load() && !log_.empty() && revision > log_.begin()->first) {
    // Caught up past it, and no bucket changed there: a marker alone.
    return std::make_shared<const std::vector<std::string>>();
  }
  if (it == log_.end()) {
    return absl::OutOfRangeError(
        absl::StrCat("the status changes of revision ", revision, " are no longer kept"));
  }
  return it->second;
}

ForwardStatuses::Pin::Pin(const ForwardStatuses* statuses) ABSL_NO_THREAD_SAFETY_ANALYSIS
    : statuses_(statuses) {
  statuses_->mu_.ReaderLock();
}

ForwardStatuses::Pin::~Pin() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (held_) statuses_->mu_.ReaderUnlock();
}

ForwardStatuses::Table ForwardStatuses::Pin::Take() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (!held_) return {};
  Table copy = statuses_->table_;
  statuses_->mu_.ReaderUnlock();
  held_ = false;
  return copy;
}

}  // namespace ferry::controller
