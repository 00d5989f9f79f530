#ifndef FERRY_CONTROLLER_STORE_OBJECT_CODEC_H_
#define FERRY_CONTROLLER_STORE_OBJECT_CODEC_H_

// Typed view of stored values. The store's revision is the object's
// resourceVersion, so it is stamped on read and never stored in the value.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "api/lib/objects.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// The store's kind strings are the API's kind names (api/lib/objects.h).
using api::kKindEvent;
using api::kKindIPForward;
using api::kKindNode;
using api::MetaOf;
using api::MutableMetaOf;

// Parses the value and sets metadata.resource_version from the revision.
absl::StatusOr<ferry::v1::Object> DecodeStored(const StoredObject& stored);

// The same into `out` (which may live on an arena).
absl::Status DecodeStoredInto(const StoredObject& stored, ferry::v1::Object* out);

// Serializes with metadata.resource_version cleared.
std::string EncodeForStore(const ferry::v1::Object& object);

// An IPForward with no fields this build does not know, in the Object or
// the forward: one whose parts may be encoded or borrowed one by one.
bool IsPlainForward(const ferry::v1::Object& object);

// The stored value of a forward created from the client's `incoming`: as
// EncodeForStore of a copy given `uid`, generation 1 and `created`, with no
// status, but encoded straight from `incoming` (copying 100k forwards to
// set three fields was a fifth of a large apply). nullopt when `incoming`
// is not a plain forward that leaves those fields to the controller (the
// caller then copies it).
std::optional<std::string> EncodeCreatedForward(const ferry::v1::Object& incoming,
                                                absl::string_view uid,
                                                const google::protobuf::Timestamp& created);

// The write that stores `object` under its kind and name, if the stored
// revision is still `expected_revision` (WriteOp::kAnyRevision: whatever it is).
WriteOp PutOp(const ferry::v1::Object& object, int64_t expected_revision);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_STORE_OBJECT_CODEC_H_
