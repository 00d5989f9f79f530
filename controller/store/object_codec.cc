#include "controller/store/object_codec.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

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

namespace {

using google::protobuf::internal::WireFormatLite;

// Field numbers, as protoc generated them from api/proto/ferry/v1/ferry.proto.
constexpr int kObjectIpForward = ferry::v1::Object::kIpForwardFieldNumber;
constexpr int kForwardApiVersion = ferry::v1::IPForward::kApiVersionFieldNumber;
constexpr int kForwardKind = ferry::v1::IPForward::kKindFieldNumber;
constexpr int kForwardMetadata = ferry::v1::IPForward::kMetadataFieldNumber;
constexpr int kForwardSpec = ferry::v1::IPForward::kSpecFieldNumber;
constexpr int kMetaUid = ferry::v1::ObjectMeta::kUidFieldNumber;
constexpr int kMetaGeneration = ferry::v1::ObjectMeta::kGenerationFieldNumber;
constexpr int kMetaCreationTimestamp = ferry::v1::ObjectMeta::kCreationTimestampFieldNumber;

bool KnownFieldsOnly(const google::protobuf::Message& m) {
  return m.GetReflection()->GetUnknownFields(m).empty();
}

size_t FieldSize(int field, size_t length) {
  return WireFormatLite::TagSize(field, WireFormatLite::TYPE_BYTES) +
         WireFormatLite::LengthDelimitedSize(length);
}

}  // namespace

bool IsPlainForward(const ferry::v1::Object& object) {
  return object.has_ip_forward() && KnownFieldsOnly(object) && KnownFieldsOnly(object.ip_forward());
}

std::optional<std::string> EncodeCreatedForward(const ferry::v1::Object& incoming,
                                                absl::string_view uid,
                                                const google::protobuf::Timestamp& created) {
  if (!IsPlainForward(incoming)) return std::nullopt;
  const ferry::v1::IPForward& forward = incoming.ip_forward();
  if (!forward.has_metadata()) return std::nullopt;
  const ferry::v1::ObjectMeta& meta = forward.metadata();
  // The client's metadata is written as it is and the controller's fields
  // after it, so none of them may be set already (a parse would keep the
  // last, but the bytes would hold both).
  if (uid.empty() || !meta.uid().empty() || meta.generation() != 0 ||
      !meta.resource_version().empty() || meta.has_creation_timestamp()) {
    return std::nullopt;
  }
  // A message field is written in field order; unknown fields of the
  // metadata end up before the controller's, which parses the same.
  const size_t created_size = created.ByteSizeLong();
  const size_t meta_size =
      meta.ByteSizeLong() + WireFormatLite::TagSize(kMetaUid, WireFormatLite::TYPE_STRING) +
      WireFormatLite::LengthDelimitedSize(uid.size()) +
      WireFormatLite::TagSize(kMetaGeneration, WireFormatLite::TYPE_INT64) +
      WireFormatLite::Int64Size(1) + FieldSize(kMetaCreationTimestamp, created_size);
  size_t forward_size = FieldSize(kForwardMetadata, meta_size);
  if (!forward.api_version().empty()) {
    forward_size += FieldSize(kForwardApiVersion, forward.api_version().size());
  }
  if (!forward.kind().empty()) forward_size += FieldSize(kForwardKind, forward.kind().size());
  size_t spec_size = 0;
  if (forward.has_spec()) {
    spec_size = forward.spec().ByteSizeLong();
    forward_size += FieldSize(kForwardSpec, spec_size);
  }
  std::string out;
  out.resize(FieldSize(kObjectIpForward, forward_size));
  {
    google::protobuf::io::ArrayOutputStream array(out.data(), static_cast<int>(out.size()));
    google::protobuf::io::CodedOutputStream coded(&array);
    auto open = [&](int field, size_t length) {
      WireFormatLite::WriteTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, &coded);
      coded.WriteVarint32(static_cast<uint32_t>(length));
    };
    open(kObjectIpForward, forward_size);
    if (!forward.api_version().empty()) {
      WireFormatLite::WriteString(kForwardApiVersion, forward.api_version(), &coded);
    }
    if (!forward.kind().empty()) WireFormatLite::WriteString(kForwardKind, forward.kind(), &coded);
    open(kForwardMetadata, meta_size);
    meta.SerializeWithCachedSizes(&coded);
    open(kMetaUid, uid.size());
    coded.WriteRaw(uid.data(), static_cast<int>(uid.size()));
    WireFormatLite::WriteInt64(kMetaGeneration, 1, &coded);
    open(kMetaCreationTimestamp, created_size);
    created.SerializeWithCachedSizes(&coded);
    if (forward.has_spec()) {
      open(kForwardSpec, spec_size);
      forward.spec().SerializeWithCachedSizes(&coded);
    }
    if (coded.HadError() || static_cast<size_t>(coded.ByteCount()) != out.size()) {
      return std::nullopt;  // cannot happen: every size was computed above
    }
  }
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
