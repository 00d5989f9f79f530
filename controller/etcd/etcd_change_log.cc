#include "controller/etcd/etcd_change_log.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "api/lib/log.h"

namespace ferry::controller {
namespace {

using etcdserverpb::WatchRequest;
using etcdserverpb::WatchResponse;

constexpr absl::Duration kMaxBackoff = absl::Seconds(2);
// Deleted keys of one revision read one by one; more read the range.
constexpr size_t kPointReads = 16;

}  // namespace

EtcdChangeLog::EtcdChangeLog(EtcdClient* client, KeyParser parser, KeyMaker key_of, Options options)
    : client_(client),
      parser_(std::move(parser)),
      key_of_(std::move(key_of)),
      options_(std::move(options)),
      start_(options_.start_after),
      revision_(options_.start_after) {}

EtcdChangeLog::~EtcdChangeLog() { Stop(); }

void EtcdChangeLog::Start() {
  thread_ = std::thread([this] { Run(); });
}

void EtcdChangeLog::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    stop_waiting_ = true;
    if (stream_context_ != nullptr) stream_context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void EtcdChangeLog::Run() {
  absl::Duration backoff = absl::Milliseconds(100);
  for (;;) {
    int64_t from = 0;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      from = revision_;
    }
    absl::Status status = WatchOnce();
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      // A stream that delivered something was healthy: start over.
      if (revision_ > from) backoff = absl::Milliseconds(100);
    }
    if (absl::IsOutOfRange(status)) continue;  // compacted: Restart re-based the log
    LogWarning("etcd watch ended; resuming on the next member",
               {{"error", status.ToString()}, {"from_revision", absl::StrCat(from)}});
    client_->NextEndpoint();
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

absl::Status EtcdChangeLog::WatchOnce() {
  EtcdClient::StreamTarget target = client_->CurrentTarget();
  grpc::ClientContext context;
  // A member cut off from its cluster's leader ends the watch instead of
  // going silent (etcd's "hasleader" metadata), so the log moves on to a
  // member that still hears writes.
  context.AddMetadata("hasleader", "true");
  int64_t from = 0;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    stream_context_ = &context;
    from = revision_;
  }
  auto stream = target.watch->Watch(&context);
  WatchRequest request;
  etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
  create->set_key(options_.key);
  create->set_range_end(options_.range_end);
  create->set_start_revision(from + 1);
  // No prev_kv: etcd would read every updated key's old value for it, one
  // by one (10,000 updated forwards reached the watch after 3.6 s instead
  // of 0.6 s). Only a delete's change needs the old value; RemovedValues
  // reads it, at the revision before.
  absl::Status result;
  if (stream->Write(request)) {
    WatchResponse response;
    while (stream->Read(&response)) {
      if (response.compact_revision() > 0) {
        LogWarning("etcd compacted past the change log; readers re-list",
                   {{"endpoint", target.endpoint},
                    {"needed", absl::StrCat(from + 1)},
                    {"compacted", absl::StrCat(response.compact_revision())}});
        // History from the compaction revision on is still there: the
        // next watch starts at it. (This response's header revision is
        // 0: etcd sends it before the watch has read anything.)
        Restart(response.compact_revision() - 1);
        result = absl::OutOfRangeError("compacted");
        context.TryCancel();
        break;
      }
      if (response.canceled()) {
        result = absl::UnavailableError(
            absl::StrCat("etcd ", target.endpoint, ": watch canceled: ", response.cancel_reason()));
        context.TryCancel();
        break;
      }
      if (response.events_size() == 0) continue;
      std::vector<Change> changes;
      changes.reserve(response.events_size());
      std::vector<size_t> deleted;  // indexes into `changes`
      int64_t last = 0;
      for (mvccpb::Event& event : *response.mutable_events()) {
        Change change;
        mvccpb::KeyValue* kv = event.mutable_kv();
        if (!parser_(kv->key(), &change.object.kind, &change.object.name)) continue;
        change.object.revision = kv->mod_revision();
        last = kv->mod_revision();
        if (event.type() == mvccpb::Event::DELETE) {
          change.type = Change::Type::kDelete;
          deleted.push_back(changes.size());
        } else {
          change.type = Change::Type::kPut;
          change.created = kv->create_revision() == kv->mod_revision();
          change.object.value = std::move(*kv->mutable_value());
          change.object.create_revision = kv->create_revision();
        }
        changes.push_back(std::move(change));
      }
      if (!deleted.empty()) {
        if (absl::Status s = RemovedValues(deleted, &changes); !s.ok()) {
          result = s;
          context.TryCancel();
          break;
        }
      }
      if (last > 0) Append(std::move(changes), last);
    }
  }
  grpc::Status finished = stream->Finish();
  absl::MutexLock lock(&mu_);
  stream_context_ = nullptr;
  if (!result.ok()) return result;
  if (!finished.ok()) return EtcdClient::FromGrpc(finished, target.endpoint);
  return absl::UnavailableError(absl::StrCat("etcd ", target.endpoint, ": watch stream closed"));
}

absl::Status EtcdChangeLog::RemovedValues(const std::vector<size_t>& deleted,
                                          std::vector<Change>* changes) {
  // Keys deleted in one revision share "the revision before": a bulk delete
  // reads the watched range once there, a few deletes read their keys.
  std::map<int64_t, std::vector<Change*>> by_revision;
  for (size_t i : deleted) by_revision[(*changes)[i].object.revision].push_back(&(*changes)[i]);
  for (auto& [revision, removed] : by_revision) {
    absl::flat_hash_map<std::string, Change*> wanted;
    for (Change* c : removed) wanted[key_of_(c->object.kind, c->object.name)] = c;
    const bool scan = removed.size() > kPointReads;
    std::string from = scan ? options_.key : std::string();
    for (auto it = wanted.begin(); scan || it != wanted.end();) {
      etcdserverpb::RangeRequest read;
      read.set_revision(revision - 1);
      if (scan) {
        read.set_key(from);
        read.set_range_end(options_.range_end);
        read.set_limit(1000);
      } else {
        read.set_key(it->first);
        ++it;
      }
      etcdserverpb::RangeResponse response;
      if (absl::Status s = client_->Range(read, &response); !s.ok()) return s;
      for (mvccpb::KeyValue& kv : *response.mutable_kvs()) {
        auto found = wanted.find(kv.key());
        if (found == wanted.end()) continue;
        found->second->object.value = std::move(*kv.mutable_value());
        found->second->object.create_revision = kv.create_revision();
      }
      if (scan) {
        if (!response.more() || response.kvs_size() == 0) break;
        from = response.kvs(response.kvs_size() - 1).key();
        from.push_back('\0');
      }
    }
  }
  return absl::OkStatus();
}

void EtcdChangeLog::Append(std::vector<Change> changes, int64_t revision) {
  absl::MutexLock lock(&mu_);
  for (Change& c : changes) changes_.push_back(std::move(c));
  revision_ = std::max(revision_, revision);
  // Whole revisions only, so a reader never sees half of one.
  while (changes_.size() > options_.retained_changes) {
    const int64_t oldest = changes_.front().object.revision;
    while (!changes_.empty() && changes_.front().object.revision == oldest) changes_.pop_front();
    start_ = oldest;
  }
}

void EtcdChangeLog::Restart(int64_t revision) {
  absl::MutexLock lock(&mu_);
  changes_.clear();
  start_ = std::max(revision_, revision);
  revision_ = start_;
}

int64_t EtcdChangeLog::revision() {
  absl::MutexLock lock(&mu_);
  return revision_;
}

absl::StatusOr<std::vector<Change>> EtcdChangeLog::ChangesSince(int64_t after,
                                                                const std::string& kind,
                                                                size_t limit) {
  absl::MutexLock lock(&mu_);
  if (after < start_) {
    return absl::OutOfRangeError(
        absl::StrCat("etcd change log: revision ", after,
                     " is older than the log this controller keeps (it begins after revision ",
                     start_, "); re-list"));
  }
  auto first = std::upper_bound(changes_.begin(), changes_.end(), after,
                                [](int64_t r, const Change& c) { return r < c.object.revision; });
  std::vector<Change> out;
  for (auto it = first; it != changes_.end(); ++it) {
    if (out.size() >= limit && it->object.revision != out.back().object.revision) break;
    if (!kind.empty() && it->object.kind != kind) continue;
    out.push_back(*it);
  }
  return out;
}

bool EtcdChangeLog::WaitForChange(int64_t after, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto advanced = [this, after]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return revision_ > after || stop_waiting_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&advanced), timeout);
  return revision_ > after;
}

bool EtcdChangeLog::WaitFor(int64_t revision, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto reached = [this, revision]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return revision_ >= revision || stop_waiting_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  return revision_ >= revision;
}

void EtcdChangeLog::StopWaiting() {
  absl::MutexLock lock(&mu_);
  stop_waiting_ = true;
}

}  // namespace ferry::controller
