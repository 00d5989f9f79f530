#include "controller/etcd/etcd_store.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/lib/log.h"

namespace ferry::controller {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;
using etcdserverpb::RangeResponse;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;

// Keys per List page: ~100 KB of forwards, one round trip each.
constexpr int64_t kPageKeys = 1000;
// GetMany of more names reads the kind's range once instead of per key.
constexpr size_t kGetManyPerKey = 16;
// How long a Commit waits for its revision to reach the change log, so a
// reader after it sees it; a longer wait still returns (it is committed).
constexpr absl::Duration kCommitVisible = absl::Seconds(10);
constexpr char kMetaFormat[] = "ferry-store-v1";

StoredObject FromKv(std::string kind, std::string name, mvccpb::KeyValue* kv) {
  StoredObject object;
  object.kind = std::move(kind);
  object.name = std::move(name);
  object.value = std::move(*kv->mutable_value());
  object.revision = kv->mod_revision();
  object.create_revision = kv->create_revision();
  return object;
}

// etcd's own words for its limits, with the setting that raises them.
absl::Status ExplainLimit(absl::Status status, size_t ops) {
  const absl::string_view m = status.message();
  if (absl::StrContains(m, "too many operations in txn")) {
    return absl::Status(status.code(), absl::StrCat(m, " (", ops,
                                                    " writes in one atomic apply; raise etcd's "
                                                    "--max-txn-ops, or apply in smaller batches)"));
  }
  if (absl::StrContains(m, "request is too large") ||
      absl::StrContains(m, "received message larger than max")) {
    return absl::Status(status.code(), absl::StrCat(m, " (", ops,
                                                    " writes in one atomic apply; raise etcd's "
                                                    "--max-request-bytes, or apply in smaller "
                                                    "batches)"));
  }
  return status;
}

std::string MetaValue(const std::string& owner) {
  return absl::StrCat("format=", kMetaFormat, "\nowner=", owner, "\n");
}

// The owner a meta value names; empty when it is not Ferry's format.
std::string MetaOwner(absl::string_view value) {
  std::string format, owner;
  for (absl::string_view line : absl::StrSplit(value, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "format=")) format = std::string(line);
    if (absl::ConsumePrefix(&line, "owner=")) owner = std::string(line);
  }
  return format == kMetaFormat ? owner : "";
}

}  // namespace

std::string PrefixRangeEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(end.back() + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

EtcdStore::EtcdStore(std::unique_ptr<EtcdClient> client, std::string prefix)
    : client_(std::move(client)), prefix_(std::move(prefix)) {}

EtcdStore::~EtcdStore() {
  if (log_ != nullptr) log_->Stop();
}

std::string EtcdStore::Where() const {
  return absl::StrCat("etcd ", client_->EndpointList(), " prefix ", prefix_);
}

std::string EtcdStore::ObjectKey(const std::string& kind, const std::string& name) const {
  return absl::StrCat(prefix_, "o/", kind, "/", name);
}

std::string EtcdStore::KindPrefix(const std::string& kind) const {
  return absl::StrCat(prefix_, "o/", kind, "/");
}

bool EtcdStore::ParseKey(const std::string& key, std::string* kind, std::string* name) const {
  absl::string_view rest = key;
  if (!absl::ConsumePrefix(&rest, prefix_) || !absl::ConsumePrefix(&rest, "o/")) return false;
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos || slash == 0 || slash + 1 == rest.size()) return false;
  *kind = std::string(rest.substr(0, slash));
  *name = std::string(rest.substr(slash + 1));
  return true;
}

absl::StatusOr<std::unique_ptr<EtcdStore>> EtcdStore::Open(Options options) {
  std::string prefix = options.prefix;
  if (prefix.empty() || prefix[0] != '/' || absl::StrContains(prefix, "//")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--etcd-prefix: \"", prefix, "\" must be an absolute key path such as /ferry/"));
  }
  if (prefix.back() != '/') prefix += '/';
  absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(options.client);
  if (!client.ok()) return client.status();
  std::unique_ptr<EtcdStore> store(new EtcdStore(*std::move(client), std::move(prefix)));
  absl::StatusOr<int64_t> reached = store->client_->Ping(options.connect_timeout);
  if (!reached.ok()) return reached.status();
  int64_t revision = 0;
  if (absl::Status s = store->CheckPrefix(&revision); !s.ok()) return s;
  EtcdChangeLog::Options log;
  log.key = store->prefix_ + "o/";
  log.range_end = PrefixRangeEnd(log.key);
  log.start_after = revision;
  log.retained_changes = options.retained_changes;
  EtcdStore* raw = store.get();
  store->log_ = std::make_unique<EtcdChangeLog>(
      store->client_.get(),
      [raw](const std::string& key, std::string* kind, std::string* name) {
        return raw->ParseKey(key, kind, name);
      },
      [raw](const std::string& kind, const std::string& name) {
        return raw->ObjectKey(kind, name);
      },
      log);
  store->log_->Start();
  return store;
}

absl::Status EtcdStore::CheckPrefix(int64_t* revision) {
  // One read of both, at one revision.
  TxnRequest txn;
  RangeRequest* meta = txn.add_success()->mutable_request_range();
  meta->set_key(prefix_ + "meta");
  RangeRequest* all = txn.add_success()->mutable_request_range();
  all->set_key(prefix_);
  all->set_range_end(PrefixRangeEnd(prefix_));
  all->set_count_only(true);
  TxnResponse response;
  if (absl::Status s = client_->Txn(txn, &response); !s.ok()) return s;
  *revision = response.header().revision();
  const RangeResponse& meta_read = response.responses(0).response_range();
  const int64_t keys = response.responses(1).response_range().count();
  if (meta_read.kvs_size() == 0 && keys > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        Where(), ": the prefix holds ", keys, " keys but no Ferry meta key (", prefix_,
        "meta): it is not Ferry's data, and Ferry will not write among it. Give Ferry a prefix "
        "of its own with --etcd-prefix"));
  }
  if (meta_read.kvs_size() > 0 && MetaOwner(meta_read.kvs(0).value()).empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        Where(), ": ", prefix_, "meta is not a Ferry meta key (expected format=", kMetaFormat,
        "); this prefix holds some other program's data. Give Ferry a prefix of its own with "
        "--etcd-prefix"));
  }
  return absl::OkStatus();
}

absl::Status EtcdStore::ClaimOwner(const std::string& owner) {
  const std::string key = prefix_ + "meta";
  TxnRequest txn;
  Compare* absent = txn.add_compare();
  absent->set_key(key);
  absent->set_target(Compare::CREATE);
  absent->set_result(Compare::EQUAL);
  absent->set_create_revision(0);
  etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(MetaValue(owner));
  txn.add_failure()->mutable_request_range()->set_key(key);
  TxnResponse response;
  if (absl::Status s = client_->Txn(txn, &response); !s.ok()) return s;
  if (response.succeeded()) {
    LogInfo("etcd prefix claimed for this Ferry", {{"where", Where()}, {"owner", owner}});
    return absl::OkStatus();
  }
  const RangeResponse& read = response.responses(0).response_range();
  const std::string theirs = read.kvs_size() > 0 ? MetaOwner(read.kvs(0).value()) : "";
  if (theirs == owner) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      Where(), " holds another Ferry's data (its controller CA ", theirs, ", this controller's CA ",
      owner,
      "). Give this Ferry its own --etcd-prefix, or, for a replica of that Ferry, copy "
      "pki/ from one of its replicas into --data-dir"));
}

absl::StatusOr<int64_t> EtcdStore::Commit(const std::vector<WriteOp>& ops) {
  return CommitTxn(ops, nullptr);
}

absl::StatusOr<int64_t> EtcdStore::CommitFenced(const std::vector<WriteOp>& ops,
                                                const WriteFence& fence) {
  return CommitTxn(ops, &fence);
}

absl::StatusOr<int64_t> EtcdStore::CommitTxn(const std::vector<WriteOp>& ops,
                                             const WriteFence* fence) {
  if (absl::Status valid = ValidateWriteOps(ops); !valid.ok()) return valid;
  if (ops.empty()) return CurrentRevision();
  TxnRequest txn;
  if (fence != nullptr) {
    Compare* held = txn.add_compare();
    held->set_key(fence->key);
    held->set_target(Compare::LEASE);
    held->set_result(Compare::EQUAL);
    held->set_lease(fence->lease);
    txn.add_failure()->mutable_request_range()->set_key(fence->key);
  }
  // The ops with a precondition, in order; each has a failure-side read of
  // its key (keys only), to say which one failed and why.
  std::vector<const WriteOp*> checked;
  for (const WriteOp& op : ops) {
    const std::string key = ObjectKey(op.kind, op.name);
    const bool put = op.type == WriteOp::Type::kPut;
    Compare compare;
    compare.set_key(key);
    if (put && op.expected_revision == WriteOp::kMustNotExist) {
      compare.set_target(Compare::CREATE);
      compare.set_result(Compare::EQUAL);
      compare.set_create_revision(0);
    } else if (op.expected_revision > 0) {
      compare.set_target(Compare::MOD);
      compare.set_result(Compare::EQUAL);
      compare.set_mod_revision(op.expected_revision);
    } else if (!put) {
      // Deleting an absent key is NOT_FOUND, as in every backend.
      compare.set_target(Compare::VERSION);
      compare.set_result(Compare::GREATER);
      compare.set_version(0);
    } else {
      compare.clear_key();
    }
    if (!compare.key().empty()) {
      *txn.add_compare() = std::move(compare);
      RangeRequest* read = txn.add_failure()->mutable_request_range();
      read->set_key(key);
      read->set_keys_only(true);
      checked.push_back(&op);
    }
    RequestOp* write = txn.add_success();
    if (put) {
      etcdserverpb::PutRequest* p = write->mutable_request_put();
      p->set_key(key);
      p->set_value(op.value);
    } else {
      write->mutable_request_delete_range()->set_key(key);
    }
  }
  TxnResponse response;
  if (absl::Status s = client_->Txn(txn, &response); !s.ok()) return ExplainLimit(s, ops.size());
  if (response.succeeded()) {
    const int64_t revision = response.header().revision();
    if (!log_->WaitFor(revision, kCommitVisible)) {
      LogWarning("etcd commit not yet seen by the watch",
                 {{"revision", absl::StrCat(revision)}, {"where", Where()}});
    }
    return revision;
  }
  int index = 0;
  if (fence != nullptr) {
    const RangeResponse& held = response.responses(index++).response_range();
    if (held.kvs_size() == 0 || held.kvs(0).lease() != fence->lease) {
      return absl::AbortedError(
          absl::StrCat("not the leader: ", fence->key, " is ",
                       held.kvs_size() == 0 ? std::string("not held")
                                            : absl::StrCat("held by lease ", held.kvs(0).lease()),
                       ", this controller's lease is ", fence->lease, " (", Where(), ")"));
    }
  }
  for (const WriteOp* op : checked) {
    const RangeResponse& read = response.responses(index++).response_range();
    const bool exists = read.kvs_size() > 0;
    const int64_t current = exists ? read.kvs(0).mod_revision() : 0;
    const std::string key = StoreKey(op->kind, op->name);
    if (op->type == WriteOp::Type::kPut && op->expected_revision == WriteOp::kMustNotExist) {
      if (exists) {
        return absl::AbortedError(absl::StrCat(key, " already exists (revision ", current, ")"));
      }
    } else if (op->expected_revision > 0) {
      if (!exists) {
        return absl::AbortedError(absl::StrCat(key, ": expected revision ", op->expected_revision,
                                               " but it does not exist"));
      }
      if (current != op->expected_revision) {
        return absl::AbortedError(absl::StrCat(key, ": expected revision ", op->expected_revision,
                                               ", current is ", current));
      }
    } else if (!exists) {
      return absl::NotFoundError(absl::StrCat(key, " not found"));
    }
  }
  // Every precondition holds on a second look: it changed in between.
  return absl::AbortedError(
      absl::StrCat("a precondition of the commit failed and then held again (", Where(), ")"));
}

absl::StatusOr<StoredObject> EtcdStore::Get(const std::string& kind, const std::string& name) {
  RangeRequest request;
  request.set_key(ObjectKey(kind, name));
  RangeResponse response;
  if (absl::Status s = client_->Range(request, &response); !s.ok()) return s;
  if (response.kvs_size() == 0) {
    return absl::NotFoundError(absl::StrCat(StoreKey(kind, name), " not found"));
  }
  return FromKv(kind, name, response.mutable_kvs(0));
}

absl::Status EtcdStore::GetMany(const std::string& kind, const std::vector<std::string>& names,
                                const std::function<void(size_t, const StoredObject&)>& visit) {
  if (names.size() > kGetManyPerKey) {
    absl::flat_hash_map<std::string_view, size_t> wanted;
    wanted.reserve(names.size());
    for (size_t i = 0; i < names.size(); ++i) wanted.emplace(names[i], i);
    absl::StatusOr<int64_t> scanned =
        Scan(KindPrefix(kind), PrefixRangeEnd(KindPrefix(kind)), [&](mvccpb::KeyValue& kv) {
          std::string k, name;
          if (!ParseKey(kv.key(), &k, &name)) return true;
          auto it = wanted.find(name);
          if (it != wanted.end()) visit(it->second, FromKv(kind, std::move(name), &kv));
          return true;
        });
    return scanned.status();
  }
  // One revision for all: the first read's.
  int64_t revision = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    RangeRequest request;
    request.set_key(ObjectKey(kind, names[i]));
    request.set_revision(revision);
    RangeResponse response;
    if (absl::Status s = client_->Range(request, &response); !s.ok()) return s;
    if (revision == 0) revision = response.header().revision();
    if (response.kvs_size() > 0) visit(i, FromKv(kind, names[i], response.mutable_kvs(0)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> EtcdStore::Scan(const std::string& key, const std::string& end,
                                        const std::function<bool(mvccpb::KeyValue&)>& visit) {
  int64_t revision = 0;
  std::string from = key;
  for (;;) {
    RangeRequest request;
    request.set_key(from);
    request.set_range_end(end);
    request.set_limit(kPageKeys);
    request.set_revision(revision);
    RangeResponse response;
    if (absl::Status s = client_->Range(request, &response); !s.ok()) {
      // Compacted between two pages: what was visited is of a snapshot
      // that is gone.
      if (absl::IsOutOfRange(s)) {
        return absl::OutOfRangeError(absl::StrCat(s.message(), " (listing at revision ", revision,
                                                  "; discard it and list again)"));
      }
      return s;
    }
    if (revision == 0) revision = response.header().revision();
    for (mvccpb::KeyValue& kv : *response.mutable_kvs()) {
      if (!visit(kv)) return revision;
    }
    if (!response.more() || response.kvs_size() == 0) return revision;
    from = response.kvs(response.kvs_size() - 1).key();
    from.push_back('\0');
  }
}

absl::StatusOr<int64_t> EtcdStore::List(const std::string& kind,
                                        const std::function<bool(const StoredObject&)>& visit) {
  return Scan(KindPrefix(kind), PrefixRangeEnd(KindPrefix(kind)), [&](mvccpb::KeyValue& kv) {
    std::string k, name;
    if (!ParseKey(kv.key(), &k, &name)) return true;
    return visit(FromKv(kind, std::move(name), &kv));
  });
}

int64_t EtcdStore::CurrentRevision() { return log_->revision(); }

absl::StatusOr<std::vector<Change>> EtcdStore::ChangesSince(int64_t after, const std::string& kind,
                                                            size_t limit) {
  absl::StatusOr<std::vector<Change>> changes = log_->ChangesSince(after, kind, limit);
  if (!changes.ok()) {
    return absl::Status(changes.status().code(),
                        absl::StrCat(Where(), ": ", changes.status().message()));
  }
  return changes;
}

bool EtcdStore::WaitForChange(int64_t after, absl::Duration timeout) {
  return log_->WaitForChange(after, timeout);
}

void EtcdStore::StopWaiting() { log_->StopWaiting(); }

absl::Status EtcdStore::CompactHistory(int64_t revision) {
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  request.set_physical(true);
  etcdserverpb::CompactionResponse response;
  return client_->Compact(request, &response);
}

}  // namespace ferry::controller
