#include "controller/fleet/fleet_snapshot.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "api/lib/log.h"
#include "api/lib/objects.h"
#include "controller/store/object_codec.h"

namespace ferry::controller {
namespace {

using ferry::v1::Object;

// Rounds of change-log reads before a full re-list is cheaper.
constexpr int kMaxCatchUpRounds = 50;

// The stored object decoded as `want`, or nothing (logged) if it is not one.
std::optional<Object> DecodeAs(const StoredObject& stored, Object::KindCase want) {
  absl::StatusOr<Object> object = DecodeStored(stored);
  if (!object.ok() || object->kind_case() != want) {
    LogError("skipping undecodable stored object",
             {{"kind", stored.kind},
              {"name", stored.name},
              {"error", object.ok() ? "wrong kind" : object.status().ToString()}});
    return std::nullopt;
  }
  // The revision is kept beside it; the stamp would only be cleared again
  // for each write back.
  api::MutableMetaOf(&*object)->clear_resource_version();
  return *std::move(object);
}

}  // namespace

// Of a forward only its name, generation and spec are kept: its uid,
// labels and timestamps are served from the store, and kept here for 100k
// forwards they were about half of the snapshot's memory.
void FleetSnapshot::PutForward(Object* object, int64_t revision, Changes* changes) {
  StoredForward stored{PlanForward::Take(object->mutable_ip_forward()), revision};
  const std::string& name = stored.forward->name;
  auto it = forwards_.find(name);
  if (it == forwards_.end()) {
    if (changes != nullptr) changes->specs.insert(name);
    forwards_.emplace(name, std::move(stored));
    return;
  }
  if (changes != nullptr) {
    bool same = it->second.forward->SameInputs(*stored.forward);
    (same ? changes->statuses : changes->specs).insert(name);
  }
  it->second = std::move(stored);
}

void FleetSnapshot::EraseForward(const std::string& name, Changes* changes) {
  auto it = forwards_.find(name);
  if (it == forwards_.end()) return;
  forwards_.erase(it);
  changes->removed.insert(name);
  changes->specs.erase(name);
  changes->statuses.erase(name);
}

void FleetSnapshot::Clear() {
  forwards_.clear();
  nodes_.clear();
  feed_.Reset(0);
  listed_ = false;
}

absl::Status FleetSnapshot::List(Changes* changes) {
  Clear();
  changes->relisted = true;
  // Changes from the earlier of the two listings on are replayed by the
  // catch-up that follows; replaying one already seen is harmless.
  absl::StatusOr<int64_t> first =
      store_->List(api::kKindIPForward, [&](const StoredObject& stored) {
        if (auto o = DecodeAs(stored, Object::kIpForward)) {
          PutForward(&*o, stored.revision, changes);
        }
        return true;
      });
  if (!first.ok()) return first.status();
  absl::StatusOr<int64_t> second = store_->List(api::kKindNode, [&](const StoredObject& stored) {
    if (auto o = DecodeAs(stored, Object::kNode))
      nodes_[stored.name] = {*std::move(o), stored.revision};
    return true;
  });
  if (!second.ok()) return second.status();
  feed_.Reset(std::min(*first, *second));
  listed_ = true;
  return absl::OkStatus();
}

bool FleetSnapshot::TakeHandoff(Changes* changes) {
  if (handoff_ == nullptr) return false;
  const int64_t revision = feed_.revision() + 1;
  std::optional<CommitHandoff::Objects> objects = handoff_->Take(revision, kHandoffWait);
  if (!objects.has_value()) return false;
  for (std::shared_ptr<Object>& object : *objects) Put(std::move(object), revision, changes);
  feed_.Reset(revision);
  return true;
}

absl::Status FleetSnapshot::CatchUp(Changes* changes) {
  for (int round = 0; round < kMaxCatchUpRounds; ++round) {
    if (TakeHandoff(changes)) continue;
    absl::StatusOr<ChangeFeed::Batch> log = feed_.Next();
    if (!log.ok()) return log.status();
    for (const Change& change : log->changes) {
      const StoredObject& o = change.object;
      bool forward = o.kind == api::kKindIPForward;
      if (!forward && o.kind != api::kKindNode) continue;  // events
      // Already as new: our own write, or replayed after a listing.
      if (forward) {
        auto it = forwards_.find(o.name);
        if (it != forwards_.end() && it->second.revision >= o.revision) continue;
      } else {
        auto it = nodes_.find(o.name);
        if (it != nodes_.end() && it->second.revision >= o.revision) continue;
      }
      if (change.type == Change::Type::kDelete) {
        if (forward) {
          EraseForward(o.name, changes);
        } else {
          nodes_.erase(o.name);
        }
        continue;
      }
      std::optional<Object> decoded = DecodeAs(o, forward ? Object::kIpForward : Object::kNode);
      if (!decoded) continue;
      if (forward) {
        PutForward(&*decoded, o.revision, changes);
      } else {
        nodes_[o.name] = {*std::move(decoded), o.revision};
      }
    }
    if (log->at_end) return absl::OkStatus();
  }
  return absl::OutOfRangeError("too many changes to catch up on; re-listing");
}

absl::StatusOr<FleetSnapshot::Changes> FleetSnapshot::Refresh() {
  Changes changes;
  if (listed_) {
    absl::Status s = CatchUp(&changes);
    if (s.ok()) return changes;
    // The change log was compacted past us (or is too long): start over.
    if (!absl::IsOutOfRange(s)) return s;
    LogInfo("re-listing the store", {{"reason", std::string(s.message())}});
    changes = Changes();
  }
  if (absl::Status s = List(&changes); !s.ok()) {
    Clear();
    return s;
  }
  if (absl::Status s = CatchUp(&changes); !s.ok()) {
    Clear();
    return s;
  }
  return changes;
}

void FleetSnapshot::Put(std::shared_ptr<Object> object, int64_t revision, Changes* changes) {
  if (object->has_ip_forward()) {
    PutForward(object.get(), revision, changes);
  } else if (object->has_node()) {
    std::string name = object->node().metadata().name();
    nodes_[name] = {std::move(object), revision};
  }
}

void FleetSnapshot::RecordWrite(Object object, int64_t revision) {
  api::MutableMetaOf(&object)->clear_resource_version();
  Put(std::make_shared<Object>(std::move(object)), revision, nullptr);
}

}  // namespace ferry::controller
