#include "controller/resources/object_writer.h"

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/lib/objects.h"
#include "api/lib/timestamps.h"
#include "api/lib/uuid.h"
#include "api/lib/validation.h"
#include "controller/store/object_codec.h"
#include "google/protobuf/arena.h"

namespace ferry::controller {
namespace {

using ferry::v1::Object;
using ferry::v1::ObjectMeta;

constexpr int kMaxAttempts = 3;

// One object of a request, as it will be stored.
struct Planned {
  std::string kind;
  std::string name;
  Object* object = nullptr;  // on the attempt's arena
  bool exists = false;
  int64_t stored_revision = 0;
  const Object* current = nullptr;  // the stored object, if it exists
  absl::Status decoded;             // why `current` is missing though it exists
  std::string outcome;              // created, configured, unchanged
  bool spec_changed = false;
};

bool LabelsEqual(const Object& a, const Object& b) {
  const auto& la = api::MetaOf(a).labels();
  const auto& lb = api::MetaOf(b).labels();
  if (la.size() != lb.size()) return false;
  for (const auto& [key, value] : la) {
    auto it = lb.find(key);
    if (it == lb.end() || it->second != value) return false;
  }
  return true;
}

// Status belongs to the controller: the stored one is kept, the client's
// is ignored.
void TakeStatus(const Object& stored, Object* candidate) {
  if (candidate->has_node()) {
    *candidate->mutable_node()->mutable_status() = stored.node().status();
  } else {
    *candidate->mutable_ip_forward()->mutable_status() = stored.ip_forward().status();
  }
}

void ClearStatus(Object* candidate) {
  if (candidate->has_node()) {
    candidate->mutable_node()->clear_status();
  } else {
    candidate->mutable_ip_forward()->clear_status();
  }
}

absl::StatusOr<int64_t> ParseResourceVersion(const std::string& label, const std::string& text) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        label, ": metadata.resourceVersion: must be a positive integer, got \"", text, "\""));
  }
  return value;
}

absl::Status StaleError(const std::string& label, int64_t given, int64_t current) {
  return absl::AbortedError(absl::StrCat(label, ": the object has been modified; resourceVersion ",
                                         given, " is stale (current ", current, ")"));
}

absl::Status Prefixed(const std::string& label, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(label, ": ", status.message()));
}

absl::Status NotFound(ferry::v1::ResourceKind kind, const std::string& name) {
  return absl::NotFoundError(absl::StrCat(api::KindLower(kind), " \"", name, "\" not found"));
}

// Events record what the controller saw; a client that could write them
// could forge or erase that record.
absl::Status EventsAreControllerOwned(const std::string& label) {
  return absl::InvalidArgumentError(absl::StrCat(label, ": events are written by the controller"));
}

}  // namespace

// A request's objects live on one arena: 100k copies and decodes cost
// bump allocations and one release, not a malloc and free per field.
struct ObjectWriter::Attempt {
  static google::protobuf::ArenaOptions Blocks() {
    google::protobuf::ArenaOptions options;
    options.max_block_size = 1 << 20;  // the default 8 KiB is a malloc per ten objects
    return options;
  }
  google::protobuf::Arena arena{Blocks()};
  std::vector<Planned> objects;
};

absl::StatusOr<ferry::v1::ApplyResponse> ObjectWriter::Apply(
    const ferry::v1::ApplyRequest& request) {
  // Names are views into the request; kinds are the oneof case.
  absl::flat_hash_set<std::pair<int, absl::string_view>> seen;
  seen.reserve(request.objects_size());
  for (int i = 0; i < request.objects_size(); ++i) {
    const Object& object = request.objects(i);
    if (object.has_event()) {
      const std::string& event_name = object.event().metadata().name();
      return EventsAreControllerOwned(event_name.empty() ? absl::StrCat("objects[", i, "]")
                                                         : absl::StrCat("event/", event_name));
    }
    auto label = [&] {
      return api::ObjectName(object).empty() ? absl::StrCat("objects[", i, "]")
                                             : api::ObjectRef(object);
    };
    absl::Status valid = api::ValidateObject(object);
    if (!valid.ok()) return Prefixed(label(), valid);
    absl::string_view name = api::MetaOf(object).name();
    if (!seen.emplace(object.kind_case(), name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(label(), ": appears more than once in one apply"));
    }
  }
  if (absl::Status admitted = Admit(request); !admitted.ok()) return admitted;
  absl::MutexLock lock(&mu_);
  absl::Status last;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    bool lost_race = false;
    absl::StatusOr<ferry::v1::ApplyResponse> response = TryApply(request, &lost_race);
    if (!lost_race) return response;
    last = response.status();
  }
  return absl::AbortedError(absl::StrCat("apply lost to concurrent writers ", kMaxAttempts,
                                         " times; retry (", last.message(), ")"));
}

absl::Status ObjectWriter::Admit(const ferry::v1::ApplyRequest& request) const {
  if (admission_ == nullptr) return absl::OkStatus();
  // Each frontend node is read once per apply, and only if a forward needs
  // it. Read outside the mutex: the check is against the node as it is
  // now, as every later change of its addresses is too.
  std::map<std::string, std::optional<ferry::v1::Node>> nodes;
  absl::Status lookup_failed;
  Admission::NodeLookup lookup = [&](const std::string& name) -> std::optional<ferry::v1::Node> {
    auto [it, inserted] = nodes.try_emplace(name);
    if (!inserted) return it->second;
    absl::StatusOr<StoredObject> stored = store_->Get(api::kKindNode, name);
    if (!stored.ok()) {
      if (!absl::IsNotFound(stored.status())) lookup_failed = stored.status();
      return std::nullopt;
    }
    absl::StatusOr<Object> object = DecodeStored(*stored);
    if (!object.ok() || !object->has_node()) {
      lookup_failed =
          object.ok() ? absl::InternalError("stored node is not a Node") : object.status();
      return std::nullopt;
    }
    it->second = object->node();
    return it->second;
  };
  for (const Object& object : request.objects()) {
    if (!object.has_ip_forward()) continue;
    absl::Status admitted = admission_->Check(object.ip_forward(), lookup);
    // A store error is the cause, not the node's missing addresses.
    if (!lookup_failed.ok()) return lookup_failed;
    if (!admitted.ok()) {
      return Prefixed(absl::StrCat("ipforward/", object.ip_forward().metadata().name()), admitted);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ferry::v1::ApplyResponse> ObjectWriter::TryApply(
    const ferry::v1::ApplyRequest& request, bool* lost_race) {
  bool indexed = false;
  for (const Object& incoming : request.objects()) indexed |= incoming.has_ip_forward();
  if (indexed) {
    if (absl::Status s = forwards_.CatchUp(); !s.ok()) return s;
  }
  // Whatever the outcome, the index holds only what was committed.
  absl::Cleanup unstage = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { forwards_.Unstage(); };

  Attempt attempt;
  attempt.objects.reserve(request.objects_size());
  // What to read: the index knows which forwards exist, so a create costs
  // no read; one created meanwhile by another writer fails the commit's
  // precondition. The rest are read in one snapshot per kind.
  absl::flat_hash_map<std::string, std::pair<std::vector<std::string>, std::vector<size_t>>> reads;
  for (const Object& incoming : request.objects()) {
    Planned p;
    p.kind = api::KindName(incoming);
    p.name = api::ObjectName(incoming);
    p.object = google::protobuf::Arena::CreateMessage<Object>(&attempt.arena);
    *p.object = incoming;
    api::MutableMetaOf(p.object)->clear_resource_version();
    if (!indexed || forwards_.Contains(p.name) || p.kind != api::kKindIPForward) {
      auto& [names, positions] = reads[p.kind];
      names.push_back(p.name);
      positions.push_back(attempt.objects.size());
    }
    attempt.objects.push_back(std::move(p));
  }
  for (const auto& [kind, read] : reads) {
    const auto& [names, positions] = read;
    absl::Status got = store_->GetMany(kind, names, [&](size_t i, const StoredObject& stored) {
      Planned& p = attempt.objects[positions[i]];
      p.exists = true;
      p.stored_revision = stored.revision;
      Object* current = google::protobuf::Arena::CreateMessage<Object>(&attempt.arena);
      p.decoded = DecodeStoredInto(stored, current);
      if (p.decoded.ok()) p.current = current;
    });
    if (!got.ok()) return got;
  }

  for (int i = 0; i < request.objects_size(); ++i) {
    Planned& p = attempt.objects[i];
    const std::string& given_version = api::MetaOf(request.objects(i)).resource_version();
    ObjectMeta* meta = api::MutableMetaOf(p.object);
    if (!given_version.empty()) {
      const std::string label = api::ObjectRef(request.objects(i));
      absl::StatusOr<int64_t> given = ParseResourceVersion(label, given_version);
      if (!given.ok()) return given.status();
      if (!p.exists) {
        return absl::AbortedError(
            absl::StrCat(label, ": resourceVersion ", *given,
                         " was given but the object does not exist (it was deleted)"));
      }
      if (*given != p.stored_revision) return StaleError(label, *given, p.stored_revision);
    }
    if (!p.exists) {
      p.outcome = "created";
      p.spec_changed = true;
      meta->set_uid(api::NewUuidV4(bitgen_));
      meta->set_generation(1);
      api::SetTimestamp(absl::Now(), meta->mutable_creation_timestamp());
      ClearStatus(p.object);
    } else {
      if (!p.decoded.ok()) return p.decoded;
      const Object& current = *p.current;
      const ObjectMeta& old_meta = api::MetaOf(current);
      p.spec_changed = !api::SameSpec(current, *p.object);
      bool labels_changed = !LabelsEqual(current, *p.object);
      meta->set_uid(old_meta.uid());
      meta->set_generation(old_meta.generation() + (p.spec_changed ? 1 : 0));
      *meta->mutable_creation_timestamp() = old_meta.creation_timestamp();
      TakeStatus(current, p.object);
      p.outcome = p.spec_changed || labels_changed ? "configured" : "unchanged";
    }
  }

  absl::Status conflicts = CheckForwardConflicts(attempt);
  if (!conflicts.ok()) return conflicts;

  std::vector<WriteOp> ops;
  for (const Planned& p : attempt.objects) {
    if (p.outcome == "unchanged") continue;
    ops.push_back(PutOp(*p.object, p.exists ? p.stored_revision : WriteOp::kMustNotExist));
  }
  int64_t revision = 0;
  if (!request.dry_run() && !ops.empty()) {
    absl::StatusOr<int64_t> committed = store_->Commit(ops);
    if (absl::IsAborted(committed.status())) *lost_race = true;
    if (!committed.ok()) return committed.status();
    revision = *committed;
    forwards_.Committed(revision);
  }

  ferry::v1::ApplyResponse response;
  for (const Planned& p : attempt.objects) {
    ferry::v1::ApplyResult* result = response.add_results();
    result->set_kind(p.kind);
    result->set_name(p.name);
    result->set_outcome(p.outcome);
    bool written = p.outcome != "unchanged" && revision > 0;
    int64_t version = written ? revision : p.stored_revision;
    if (version > 0) result->set_resource_version(absl::StrCat(version));
  }
  return response;
}

absl::Status ObjectWriter::CheckForwardConflicts(const Attempt& attempt) {
  // Every forward as it would be after this apply: the stored ones, with
  // the request's changed ones staged over them (unchanged specs are
  // stored already).
  bool any = false;
  for (const Planned& p : attempt.objects) {
    if (!p.object->has_ip_forward() || !p.spec_changed) continue;
    forwards_.Stage(p.object->ip_forward());
    any = true;
  }
  if (!any) return absl::OkStatus();
  for (const Planned& p : attempt.objects) {
    if (!p.object->has_ip_forward() || !p.spec_changed) continue;
    absl::Status status = forwards_.Check(p.object->ip_forward());
    if (!status.ok()) return Prefixed(api::ObjectRef(*p.object), status);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ObjectWriter::Delete(ferry::v1::ResourceKind kind_enum,
                                             const std::string& name,
                                             const std::string& resource_version) {
  const std::string kind = api::KindName(kind_enum);
  const std::string label = api::ObjectRef(kind_enum, name);
  if (kind_enum == ferry::v1::EVENT) return EventsAreControllerOwned(label);
  std::optional<int64_t> given;
  if (!resource_version.empty()) {
    absl::StatusOr<int64_t> parsed = ParseResourceVersion(label, resource_version);
    if (!parsed.ok()) return parsed.status();
    given = *parsed;
  }
  absl::MutexLock lock(&mu_);
  absl::Status last;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    absl::StatusOr<StoredObject> stored = store_->Get(kind, name);
    if (absl::IsNotFound(stored.status())) return NotFound(kind_enum, name);
    if (!stored.ok()) return stored.status();
    if (given.has_value() && *given != stored->revision) {
      return StaleError(label, *given, stored->revision);
    }
    WriteOp op;
    op.type = WriteOp::Type::kDelete;
    op.kind = kind;
    op.name = name;
    op.expected_revision = stored->revision;
    absl::StatusOr<int64_t> revision = store_->Commit({op});
    if (revision.ok() && kind_enum == ferry::v1::IP_FORWARD) forwards_.Deleted(name, *revision);
    if (!absl::IsAborted(revision.status())) return revision;
    last = revision.status();
  }
  return absl::AbortedError(absl::StrCat(label, ": delete lost to concurrent writers ",
                                         kMaxAttempts, " times; retry (", last.message(), ")"));
}

}  // namespace ferry::controller
