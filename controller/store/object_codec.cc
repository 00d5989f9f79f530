#include "controller/store/object_codec.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry::controller {

absl::Status DecodeStoredInto(const StoredObject& stored, ferry::v1::Object* out) {
  if (!out->ParseFromString(stored.value)) {
    return absl::DataLossError(absl::StrCat("stored ", stored.kind, "/", stored.name,
                                            " at revision ", stored.revision, " does not parse"));
  }
  MutableMetaOf(out)->set_resource_version(absl::StrCat(stored.revision));
  return absl::OkStatus();
}

absl::StatusOr<ferry::v1::Object> DecodeStored(const StoredObject& stored) {
  ferry::v1::Object object;
  if (absl::Status s = DecodeStoredInto(stored, &object); !s.ok()) return s;
  return object;
}

std::string EncodeForStore(const ferry::v1::Object& object) {
  std::string out;
  if (MetaOf(object).resource_version().empty()) {
    object.SerializeToString(&out);  // nothing to clear: no copy
    return out;
  }
  ferry::v1::Object copy = object;
  MutableMetaOf(&copy)->clear_resource_version();
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
