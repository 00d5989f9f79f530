#include "controller/resources/object_writer.h"

#include <algorithm>
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
#include "controller/planner/planner.h"
#include "controller/planner/status.h"
#include "controller/store/object_codec.h"
#include "google/protobuf/arena.h"

namespace ferry::controller {
namespace {

using ferry::v1::Object;
using ferry::v1::ObjectMeta;

constexpr int kMaxAttempts = 3;

enum class Outcome { kCreated, kConfigured, kUnchanged };

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kCreated:
      return "created";
    case Outcome::kConfigured:
      return "configured";
    case Outcome::kUnchanged:
      break;
  }
  return "unchanged";
}

// One object of a request, as it will be stored.
struct Planned {
  std::string kind;
  const Object* incoming = nullptr;
  const std::string* name = nullptr;  // in the request
  // As it will be stored, on the attempt's arena; null for a created
  // forward that was encoded straight from the request into `encoded`.
  Object* object = nullptr;
  std::string encoded;
  bool exists = false;
  int64_t stored_revision = 0;
  Object* current = nullptr;  // the stored object, if it exists (on the arena)
  absl::Status decoded;       // why `current` is missing though it exists
  Outcome outcome = Outcome::kUnchanged;
  bool spec_changed = false;
  std::string uid;  // of a forward created into `encoded`
};

// `incoming` as it will be stored, on `arena`, before the controller's
// metadata and status are set. A forward's spec is borrowed from the
// request, not copied: it is never modified, the request outlives the
// attempt, and an arena never destroys what its messages point to. Copying
// 100k whole forwards was a fifth of a large apply. Anything unusual (a
// node, fields this build does not know) is copied whole.
Object* StorableCopy(const Object& incoming, google::protobuf::Arena* arena) {
  Object* object = google::protobuf::Arena::CreateMessage<Object>(arena);
  if (!IsPlainForward(incoming)) {
    *object = incoming;
    return object;
  }
  const ferry::v1::IPForward& in = incoming.ip_forward();
  ferry::v1::IPForward* out = object->mutable_ip_forward();
  if (!in.api_version().empty()) out->set_api_version(in.api_version());
  if (!in.kind().empty()) out->set_kind(in.kind());
  if (in.has_metadata()) *out->mutable_metadata() = in.metadata();
  if (in.has_spec()) {
    out->unsafe_arena_set_allocated_spec(const_cast<ferry::v1::IPForwardSpec*>(&in.spec()));
  }
  // The status is the controller's: cleared or taken from the stored one.
  return object;
}

// The stored Node as the planner takes it; an error if it does not decode
// as one.
absl::StatusOr<ferry::v1::Node> NodeOf(const StoredObject& stored) {
  absl::StatusOr<Object> object = DecodeStored(stored);
  if (!object.ok()) return object.status();
  if (!object->has_node()) return absl::InternalError("stored node is not a Node");
  return std::move(*object->mutable_node());
}

// Status belongs to the controller: the stored one is kept, the client's
// is ignored. A forward's is borrowed from `stored`, which lives as long on
// the same arena and is not written to again.
void TakeStatus(Object* stored, Object* candidate) {
  if (candidate->has_node()) {
    *candidate->mutable_node()->mutable_status() = stored->node().status();
  } else if (stored->has_ip_forward() && stored->ip_forward().has_status()) {
    candidate->mutable_ip_forward()->unsafe_arena_set_allocated_status(
        stored->mutable_ip_forward()->mutable_status());
  } else {
    candidate->mutable_ip_forward()->mutable_status()->Clear();
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

absl::StatusOr<ferry::v1::ApplyResponse> ObjectWriter::Apply(ferry::v1::ApplyRequest* request) {
  // Names are views into the request; kinds are the oneof case.
  absl::flat_hash_set<std::pair<int, absl::string_view>> seen;
  seen.reserve(request->objects_size());
  for (int i = 0; i < request->objects_size(); ++i) {
    const Object& object = request->objects(i);
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
  if (absl::Status admitted = Admit(*request); !admitted.ok()) return admitted;
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
    absl::StatusOr<ferry::v1::Node> node = NodeOf(*stored);
    if (!node.ok()) {
      lookup_failed = node.status();
      return std::nullopt;
    }
    it->second = *std::move(node);
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
    ferry::v1::ApplyRequest* mutable_request, bool* lost_race) {
  const ferry::v1::ApplyRequest& request = *mutable_request;
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
    p.incoming = &incoming;
    p.name = &api::MetaOf(incoming).name();
    if (!indexed || p.kind != api::kKindIPForward || forwards_.Contains(*p.name)) {
      auto& [names, positions] = reads[p.kind];
      names.push_back(*p.name);
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

  // One creation time for the whole apply, as it is one transaction.
  google::protobuf::Timestamp now;
  api::SetTimestamp(absl::Now(), &now);
  for (int i = 0; i < request.objects_size(); ++i) {
    Planned& p = attempt.objects[i];
    const std::string& given_version = api::MetaOf(request.objects(i)).resource_version();
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
      p.outcome = Outcome::kCreated;
      p.spec_changed = true;
      std::string uid = api::NewUuidV4(bitgen_);
      std::optional<std::string> encoded = EncodeCreatedForward(*p.incoming, uid, now);
      if (encoded.has_value()) {
        p.encoded = *std::move(encoded);
        p.uid = std::move(uid);
        continue;
      }
      p.object = StorableCopy(*p.incoming, &attempt.arena);
      ObjectMeta* meta = api::MutableMetaOf(p.object);
      meta->clear_resource_version();
      meta->set_uid(std::move(uid));
      meta->set_generation(1);
      *meta->mutable_creation_timestamp() = now;
      ClearStatus(p.object);
    } else {
      if (!p.decoded.ok()) return p.decoded;
      p.object = StorableCopy(*p.incoming, &attempt.arena);
      ObjectMeta* meta = api::MutableMetaOf(p.object);
      meta->clear_resource_version();
      const Object& current = *p.current;
      const ObjectMeta& old_meta = api::MetaOf(current);
      p.spec_changed = !api::SameSpec(current, *p.object);
      bool labels_changed =
          !api::SameLabels(api::MetaOf(current).labels(), api::MetaOf(*p.object).labels());
      meta->set_uid(old_meta.uid());
      meta->set_generation(old_meta.generation() + (p.spec_changed ? 1 : 0));
      *meta->mutable_creation_timestamp() = old_meta.creation_timestamp();
      TakeStatus(p.current, p.object);
      p.outcome = p.spec_changed || labels_changed ? Outcome::kConfigured : Outcome::kUnchanged;
    }
  }

  absl::Status conflicts = CheckForwardConflicts(attempt);
  if (!conflicts.ok()) return conflicts;

  std::vector<WriteOp> ops;
  ops.reserve(attempt.objects.size());
  for (Planned& p : attempt.objects) {
    if (p.outcome == Outcome::kUnchanged) continue;
    if (p.object == nullptr) {
      WriteOp& op = ops.emplace_back();
      op.kind = p.kind;
      op.name = *p.name;
      op.value = std::move(p.encoded);
      op.expected_revision = WriteOp::kMustNotExist;
      continue;
    }
    ops.push_back(PutOp(*p.object, p.exists ? p.stored_revision : WriteOp::kMustNotExist));
  }
  int64_t revision = 0;
  if (!request.dry_run() && !ops.empty()) {
    if (handoff_ != nullptr) handoff_->Begin();
    absl::StatusOr<int64_t> committed = store_->Commit(ops);
    if (absl::IsAborted(committed.status())) *lost_race = true;
    if (!committed.ok()) {
      if (handoff_ != nullptr) handoff_->Abandon();
      return committed.status();
    }
    revision = *committed;
    forwards_.Committed(revision);
  }

  ferry::v1::ApplyResponse response;
  response.mutable_results()->Reserve(static_cast<int>(attempt.objects.size()));
  // A dry run's forwards are resolved against the stored Nodes (read only
  // when it has forwards).
  std::optional<PlannedNodes> nodes;
  if (request.dry_run() && indexed) {
    absl::StatusOr<PlannedNodes> read = ReadNodes();
    if (!read.ok()) return read.status();
    nodes = *std::move(read);
  }
  const std::string written_version = revision > 0 ? absl::StrCat(revision) : "";
  for (const Planned& p : attempt.objects) {
    ferry::v1::ApplyResult* result = response.add_results();
    result->set_kind(p.kind);
    result->set_name(*p.name);
    result->set_outcome(OutcomeName(p.outcome));
    if (p.outcome != Outcome::kUnchanged && revision > 0) {
      result->set_resource_version(written_version);
    } else if (p.stored_revision > 0) {
      result->set_resource_version(absl::StrCat(p.stored_revision));
    }
    if (nodes.has_value() && p.incoming->has_ip_forward()) {
      const ForwardResolution resolution = ResolveForward(p.incoming->ip_forward(), nodes->by_name);
      // A created forward's first generation is 1; an update's was set.
      const int64_t generation = p.object != nullptr ? api::MetaOf(*p.object).generation() : 1;
      *result->mutable_accepted() = AcceptedCondition(resolution, generation);
    }
  }
  // After the response, which names objects from the request.
  if (revision > 0 && handoff_ != nullptr) {
    handoff_->Finish(revision, HandOff(&attempt, now, mutable_request));
  }
  return response;
}

absl::StatusOr<ObjectWriter::PlannedNodes> ObjectWriter::ReadNodes() const {
  PlannedNodes nodes;
  absl::Status failed;
  absl::StatusOr<int64_t> listed = store_->List(api::kKindNode, [&](const StoredObject& stored) {
    absl::StatusOr<ferry::v1::Node> node = NodeOf(stored);
    if (!node.ok()) {
      failed = node.status();
      return false;
    }
    nodes.stored.push_back(std::make_unique<ferry::v1::Node>(*std::move(node)));
    return true;
  });
  if (!listed.ok()) return listed.status();
  if (!failed.ok()) return failed;
  for (const auto& node : nodes.stored) nodes.by_name[node->metadata().name()] = node.get();
  return nodes;
}

CommitHandoff::Objects ObjectWriter::HandOff(Attempt* attempt,
                                             const google::protobuf::Timestamp& created,
                                             ferry::v1::ApplyRequest* request) {
  CommitHandoff::Objects objects;
  objects.reserve(attempt->objects.size());
  for (size_t i = 0; i < attempt->objects.size(); ++i) {
    Planned& p = attempt->objects[i];
    if (p.outcome == Outcome::kUnchanged) continue;
    auto object = std::make_shared<Object>();
    if (p.object == nullptr) {
      // What EncodeCreatedForward wrote: the request's forward (plain, no
      // status kept) and the controller's metadata. Moved, not copied.
      object->Swap(request->mutable_objects(static_cast<int>(i)));
      ObjectMeta* meta = api::MutableMetaOf(object.get());
      meta->set_uid(std::move(p.uid));
      meta->set_generation(1);
      *meta->mutable_creation_timestamp() = created;
    } else {
      *object = *p.object;  // off the attempt's arena, which dies with it
      api::MutableMetaOf(object.get())->clear_resource_version();
    }
    if (object->has_ip_forward()) object->mutable_ip_forward()->clear_status();
    objects.push_back(std::move(object));
  }
  return objects;
}

absl::Status ObjectWriter::CheckForwardConflicts(const Attempt& attempt) {
  // Every forward as it would be after this apply: the stored ones, with
  // the request's changed ones staged over them (unchanged specs are
  // stored already).
  // The request's forward is checked when it was not copied: the spec and
  // name are the same.
  auto staged = [](const Planned& p) { return p.incoming->has_ip_forward() && p.spec_changed; };
  auto forward = [](const Planned& p) -> const ferry::v1::IPForward& {
    return (p.object != nullptr ? p.object : p.incoming)->ip_forward();
  };
  const size_t changed = std::count_if(attempt.objects.begin(), attempt.objects.end(), staged);
  if (changed == 0) return absl::OkStatus();
  forwards_.ReserveStage(changed);
  for (const Planned& p : attempt.objects) {
    if (staged(p)) forwards_.Stage(forward(p));
  }
  for (const Planned& p : attempt.objects) {
    if (!staged(p)) continue;
    absl::Status status = forwards_.Check(forward(p));
    if (!status.ok()) return Prefixed(api::ObjectRef(*p.incoming), status);
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
