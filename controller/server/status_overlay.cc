#include "controller/server/status_overlay.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/store/object_codec.h"
#include "controller/store/served_object.h"

namespace ferry::controller {
namespace {

// Forwards read from the store per round when a marker is expanded.
constexpr size_t kExpandBatch = 512;
// A marker naming at least this many forwards, and a quarter of all that
// have a status, is expanded in one pass over the stored forwards instead
// of a point read per name: after one ACK of 100k forwards, 100k point
// reads were 100 ms between the Ready status and `ferryctl wait`.
constexpr size_t kScanAt = 4096;
// Statuses a scan takes under one lock: one lookup (and lock) per object
// was a sixth of a 100k scan.
constexpr size_t kStatusBatch = 4096;

}  // namespace

void StatusOverlay::Put(const ForwardStatuses::Bytes& status, ferry::v1::Object* object) const {
  if (statuses_ != nullptr) ReplaceStatus(status.get(), object);
}

void StatusOverlay::PutCurrent(ferry::v1::Object* object) const {
  if (statuses_ == nullptr || !object->has_ip_forward()) return;
  Put(statuses_->Get(object->ip_forward().metadata().name()), object);
}

bool StatusOverlay::IsMarker(const std::string& change_kind) const {
  return change_kind == ForwardStatuses::kMarkerKind;
}

bool StatusOverlay::Watches(const std::string& kind, const std::string& change_kind) const {
  if (IsMarker(change_kind))
    return statuses_ != nullptr && (kind.empty() || kind == kKindIPForward);
  return kind.empty() || kind == change_kind;
}

absl::StatusOr<std::string> StatusOverlay::Encode(const StoredObject& stored,
                                                  bool current_status) const {
  if (!active() || !current_status || stored.kind != kKindIPForward) {
    return EncodeServed(stored, false, nullptr);
  }
  const ForwardStatuses::Bytes status = statuses_->Get(stored.name);
  return EncodeServed(stored, true, status.get());
}

absl::Status StatusOverlay::ForEachChanged(Store* store, int64_t revision,
                                           const std::function<bool(std::string)>& send) const {
  absl::StatusOr<std::shared_ptr<const std::vector<std::string>>> changed =
      statuses_->ChangedAt(revision);
  if (!changed.ok()) return changed.status();
  const std::vector<std::string>& names = **changed;
  if (names.size() >= kScanAt && names.size() * 4 >= statuses_->size() &&
      std::is_sorted(names.begin(), names.end())) {
    return ScanChanged(store, names, send);
  }
  for (size_t begin = 0; begin < names.size(); begin += kExpandBatch) {
    std::vector<std::string> batch(names.begin() + begin,
                                   names.begin() + std::min(names.size(), begin + kExpandBatch));
    const std::vector<ForwardStatuses::Bytes> statuses = statuses_->GetMany(batch);
    std::vector<std::optional<std::string>> objects(batch.size());
    absl::Status encoded = absl::OkStatus();
    absl::Status read =
        store->GetMany(kKindIPForward, batch, [&](size_t i, const StoredObject& stored) {
          absl::StatusOr<std::string> object = EncodeServed(stored, true, statuses[i].get());
          if (object.ok()) {
            objects[i] = *std::move(object);
          } else if (encoded.ok()) {
            encoded = object.status();
          }
        });
    if (!read.ok()) return read;
    if (!encoded.ok()) return encoded;
    for (std::optional<std::string>& object : objects) {
      if (!object.has_value()) continue;
      if (!send(*std::move(object))) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status StatusOverlay::ScanChanged(Store* store, const std::vector<std::string>& names,
                                        const std::function<bool(std::string)>& send) const {
  // Both in name order: a merge of the listing with the names.
  size_t next = 0;
  std::vector<ForwardStatuses::Bytes> statuses;  // of names[batch_at...]
  size_t batch_at = 0;
  absl::Status failed = absl::OkStatus();
  absl::StatusOr<int64_t> listed = store->List(kKindIPForward, [&](const StoredObject& stored) {
    while (next < names.size() && names[next] < stored.name) ++next;  // deleted since
    if (next == names.size()) return false;
    if (names[next] != stored.name) return true;
    if (next >= batch_at + statuses.size()) {
      batch_at = next;
      statuses = statuses_->GetMany(absl::MakeConstSpan(names).subspan(next, kStatusBatch));
    }
    absl::StatusOr<std::string> object =
        EncodeServed(stored, /*replace_status=*/true, statuses[next - batch_at].get());
    ++next;
    if (!object.ok()) {
      failed = object.status();
      return false;
    }
    return send(*std::move(object));
  });
  if (!listed.ok()) return listed.status();
  return failed;
}

}  // namespace ferry::controller
