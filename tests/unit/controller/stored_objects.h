#ifndef FERRY_TESTS_UNIT_CONTROLLER_STORED_OBJECTS_H_
#define FERRY_TESTS_UNIT_CONTROLLER_STORED_OBJECTS_H_

// What the fleet tests write to and read from a store, as the API would.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/store/object_codec.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// Writes an IPForward object under its name.
inline absl::Status PutForward(Store& store, const ferry::v1::Object& forward) {
  WriteOp op;
  op.kind = kKindIPForward;
  op.name = MetaOf(forward).name();
  op.value = EncodeForStore(forward);
  return store.Commit({op}).status();
}

// The stored Events of `reason`, in the store's order.
inline std::vector<ferry::v1::Event> StoredEvents(Store& store, const std::string& reason) {
  std::vector<ferry::v1::Event> out;
  absl::StatusOr<int64_t> listed = store.List(kKindEvent, [&](const StoredObject& stored) {
    ferry::v1::Object o = *DecodeStored(stored);
    if (o.event().reason() == reason) out.push_back(o.event());
    return true;
  });
  if (!listed.ok()) out.clear();
  return out;
}

}  // namespace ferry::controller

#endif  // FERRY_TESTS_UNIT_CONTROLLER_STORED_OBJECTS_H_
