// FleetReconciler: the statuses a pass writes and how they reach the store
// (in batches, each write guarded by the revision it was computed from).

#include <algorithm>
#include <utility>
#include <vector>

#include "api/lib/log.h"
#include "api/lib/objects.h"
#include "controller/fleet/fleet_reconciler.h"
#include "controller/store/object_codec.h"

namespace ferry::controller {

using ferry::v1::IPForward;
using ferry::v1::Object;

std::optional<Object> FleetReconciler::StatusWrite(const FleetSnapshot::Stored& stored,
                                                   absl::Time now) {
  const IPForward& forward = stored.object.ip_forward();
  const std::string& name = forward.metadata().name();
  const ForwardResolution* resolution = planner_.Resolution(name);
  if (resolution == nullptr) return std::nullopt;  // not planned: cannot happen
  ferry::v1::IPForwardStatus status =
      ComputeStatus(forward, *resolution, AcksFor(forward, *resolution), now, forward.status());
  SetCondition(DriftedCondition(forward, drift_.UnrepairedFor(name, resolution->nodes)), now,
               forward.status().conditions(), status.mutable_conditions());
  if (api::SameStatus(status, forward.status())) return std::nullopt;
  // The reconciler writes only the status; the rest is the stored object.
  Object desired = stored.object;
  *desired.mutable_ip_forward()->mutable_status() = std::move(status);
  return desired;
}

WriteOp FleetReconciler::WriteOf(const Object& desired, int64_t expected_revision) {
  WriteOp op;
  op.kind = api::KindName(desired);
  op.name = api::MetaOf(desired).name();
  op.value = EncodeForStore(desired);
  op.expected_revision = expected_revision;
  return op;
}

absl::Status FleetReconciler::CommitWrites(std::vector<std::pair<Object, int64_t>> objects) {
  absl::Status result = absl::OkStatus();
  auto failed = [&](const Object& o, const absl::Status& s) {
    result = s;
    if (o.has_ip_forward()) retry_statuses_.insert(o.ip_forward().metadata().name());
  };
  // One fsync per batch, not per status: after a bulk apply every forward's
  // status changes at once.
  for (size_t begin = 0; begin < objects.size(); begin += kStatusBatch) {
    const size_t end = std::min(objects.size(), begin + kStatusBatch);
    std::vector<WriteOp> batch;
    batch.reserve(end - begin);
    for (size_t i = begin; i < end; ++i)
      batch.push_back(WriteOf(objects[i].first, objects[i].second));
    absl::StatusOr<int64_t> r = store_->Commit(batch);
    if (r.ok()) {
      for (size_t i = begin; i < end; ++i) snapshot_.RecordWrite(objects[i].first, *r);
      snapshot_.CommittedOwn(*r);
      continue;
    }
    if (r.status().code() != absl::StatusCode::kAborted) {
      for (size_t i = begin; i < end; ++i) failed(objects[i].first, r.status());
      continue;
    }
    // A stale precondition fails the whole batch: write the rest one by one.
    for (size_t i = begin; i < end; ++i) {
      const Object& o = objects[i].first;
      const WriteOp& op = batch[i - begin];
      absl::StatusOr<int64_t> one = store_->Commit({op});
      if (one.ok()) {
        snapshot_.RecordWrite(o, *one);
        snapshot_.CommittedOwn(*one);
        continue;
      }
      if (one.status().code() == absl::StatusCode::kAborted) {
        // Someone wrote it since we read it: the next pass catches up on
        // their write and recomputes.
        LogDebug("status write lost a race; replanning", {{"kind", op.kind}, {"name", op.name}});
        Kick();
        continue;
      }
      failed(o, one.status());
    }
  }
  return result;
}

}  // namespace ferry::controller
