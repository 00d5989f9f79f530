#include "controller/store/object_codec.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::controller {

std::string KindString(ferry::v1::ResourceKind kind) {
  switch (kind) {
    case ferry::v1::IP_FORWARD:
      return kKindIPForward;
    case ferry::v1::NODE:
      return kKindNode;
    case ferry::v1::EVENT:
      return kKindEvent;
    default:
      return "";
  }
}

absl::StatusOr<ferry::v1::Object> DecodeStored(const StoredObject& stored) {
  ferry::v1::Object object;
  if (!object.ParseFromString(stored.value)) {
    return absl::DataLossError(absl::StrCat("stored ", stored.kind, "/", stored.name,
                                            " at revision ", stored.revision, " does not parse"));
  }
  MutableMetaOf(&object)->set_resource_version(absl::StrCat(stored.revision));
  return object;
}

std::string StoreKindOf(const ferry::v1::Object& object) {
  switch (object.kind_case()) {
    case ferry::v1::Object::kIpForward:
      return kKindIPForward;
    case ferry::v1::Object::kNode:
      return kKindNode;
    case ferry::v1::Object::kEvent:
      return kKindEvent;
    default:
      return "";
  }
}

std::string EncodeForStore(const ferry::v1::Object& object) {
  ferry::v1::Object copy = object;
  MutableMetaOf(&copy)->clear_resource_version();
  std::string out;
  copy.SerializeToString(&out);
  return out;
}

const ferry::v1::ObjectMeta& MetaOf(const ferry::v1::Object& object) {
  switch (object.kind_case()) {
    case ferry::v1::Object::kNode:
      return object.node().metadata();
    case ferry::v1::Object::kIpForward:
      return object.ip_forward().metadata();
    case ferry::v1::Object::kEvent:
      return object.event().metadata();
    default:
      return ferry::v1::ObjectMeta::default_instance();
  }
}

ferry::v1::ObjectMeta* MutableMetaOf(ferry::v1::Object* object) {
  if (object->kind_case() == ferry::v1::Object::kNode) {
    return object->mutable_node()->mutable_metadata();
  }
  if (object->kind_case() == ferry::v1::Object::kEvent) {
    return object->mutable_event()->mutable_metadata();
  }
  // An empty Object defaults to an IPForward, the common case.
  return object->mutable_ip_forward()->mutable_metadata();
}

}  // namespace ferry::controller
