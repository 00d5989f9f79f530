#include "controller/store/object_codec.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::controller {

absl::StatusOr<ferry::v1::Object> DecodeStored(const StoredObject& stored) {
  ferry::v1::Object object;
  if (!object.ParseFromString(stored.value)) {
    return absl::DataLossError(absl::StrCat("stored ", stored.kind, "/", stored.name,
                                            " at revision ", stored.revision, " does not parse"));
  }
  MutableMetaOf(&object)->set_resource_version(absl::StrCat(stored.revision));
  return object;
}

std::string EncodeForStore(const ferry::v1::Object& object) {
  ferry::v1::Object copy = object;
  MutableMetaOf(&copy)->clear_resource_version();
  std::string out;
  copy.SerializeToString(&out);
  return out;
}

WriteOp PutOp(const ferry::v1::Object& object, int64_t expected_revision) {
  WriteOp op;
  op.kind = api::KindName(object);
  op.name = api::ObjectName(object);
  op.value = EncodeForStore(object);
  op.expected_revision = expected_revision;
  return op;
}

}  // namespace ferry::controller
