#ifndef FERRY_CONTROLLER_SERVER_STATUS_OVERLAY_H_
#define FERRY_CONTROLLER_SERVER_STATUS_OVERLAY_H_

// Forwards as ResourceService serves them: the stored object with the
// fleet's status (ForwardStatuses) in place of the status field, which the
// store does not keep. Without a ForwardStatuses (an API server with no
// fleet, as in some tests) objects are served as stored.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/fleet/forward_statuses.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

class StatusOverlay {
 public:
  explicit StatusOverlay(const ForwardStatuses* statuses) : statuses_(statuses) {}

  bool active() const { return statuses_ != nullptr; }
  const ForwardStatuses* statuses() const { return statuses_; }

  // Puts `status` (null: none computed yet) in a forward's place.
  void Put(const ForwardStatuses::Bytes& status, ferry::v1::Object* object) const;
  // The same with the forward's current status.
  void PutCurrent(ferry::v1::Object* object) const;

  // Whether a watch of `kind` ("" for all) reads a change of `change_kind`:
  // its own kind, and the status markers when forwards are watched.
  bool Watches(const std::string& kind, const std::string& change_kind) const;
  bool IsMarker(const std::string& change_kind) const;

  // `stored` encoded as served (an encoded Object): with a forward's
  // current status, or as stored when `current_status` is false (a
  // deletion's last value).
  absl::StatusOr<std::string> Encode(const StoredObject& stored, bool current_status) const;

  // The forwards whose status changed at marker revision `revision`, each
  // as stored now with its current status, encoded, in order, until `send`
  // returns false. Forwards deleted since are skipped (their deletion
  // follows). OUT_OF_RANGE when the marker is no longer retained.
  absl::Status ForEachChanged(Store* store, int64_t revision,
                              const std::function<bool(std::string)>& send) const;

 private:
  // ForEachChanged for many `names`, sorted: one listing of the stored
  // forwards, merged with them.
  absl::Status ScanChanged(Store* store, const std::vector<std::string>& names,
                           const std::function<bool(std::string)>& send) const;

  const ForwardStatuses* const statuses_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_STATUS_OVERLAY_H_
