#include "controller/store/served_object.h"

#include <cstdint>
#include <optional>

#include "absl/strings/str_cat.h"
#include "controller/store/object_codec.h"
#include "ferry/v1/ferry.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"

namespace ferry::controller {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;
using google::protobuf::io::StringOutputStream;

// Every kind's message has its metadata and (where it has one) its status
// at the same numbers; the static_asserts keep the proto honest.
constexpr int kMetadata = ferry::v1::IPForward::kMetadataFieldNumber;
constexpr int kStatus = ferry::v1::IPForward::kStatusFieldNumber;
static_assert(ferry::v1::Node::kMetadataFieldNumber == kMetadata);
static_assert(ferry::v1::Event::kMetadataFieldNumber == kMetadata);
constexpr int kResourceVersion = ferry::v1::ObjectMeta::kResourceVersionFieldNumber;

// The one field of an Object value, if the value is exactly that: its
// number and its payload.
struct OneField {
  int number = 0;
  absl::string_view payload;
};

std::optional<OneField> SplitObject(absl::string_view value) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(value.data()),
                      static_cast<int>(value.size()));
  const uint32_t tag = in.ReadTag();
  if (WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
    return std::nullopt;
  }
  const int number = WireFormatLite::GetTagFieldNumber(tag);
  if (number != ferry::v1::Object::kIpForwardFieldNumber &&
      number != ferry::v1::Object::kNodeFieldNumber &&
      number != ferry::v1::Object::kEventFieldNumber) {
    return std::nullopt;
  }
  uint32_t length = 0;
  if (!in.ReadVarint32(&length)) return std::nullopt;
  const size_t header = static_cast<size_t>(in.CurrentPosition());
  if (header + length != value.size()) return std::nullopt;
  return OneField{number, value.substr(header)};
}

// Whether the message in `payload` has a top-level field `number`.
bool HasField(absl::string_view payload, int number) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(payload.data()),
                      static_cast<int>(payload.size()));
  while (uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == number) return true;
    if (!WireFormatLite::SkipField(&in, tag)) return true;  // unreadable: take the slow way
  }
  return false;
}

void WriteBytes(int number, absl::string_view bytes, CodedOutputStream* out) {
  WireFormatLite::WriteTag(number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, out);
  out->WriteVarint32(static_cast<uint32_t>(bytes.size()));
  out->WriteRaw(bytes.data(), static_cast<int>(bytes.size()));
}

absl::StatusOr<std::string> DecodeAndEncode(const StoredObject& stored, bool replace_status,
                                            const std::string* status) {
  ferry::v1::Object object;
  if (absl::Status s = DecodeStoredInto(stored, &object); !s.ok()) return s;
  if (replace_status) ReplaceStatus(status, &object);
  return object.SerializeAsString();
}

}  // namespace

void ReplaceStatus(const std::string* status, ferry::v1::Object* object) {
  if (!object->has_ip_forward()) return;
  ferry::v1::IPForward* forward = object->mutable_ip_forward();
  forward->clear_status();
  if (status != nullptr && !forward->mutable_status()->ParseFromString(*status)) {
    forward->clear_status();
  }
}

absl::StatusOr<std::string> EncodeServed(const StoredObject& stored, bool replace_status,
                                         const std::string* status) {
  std::optional<OneField> object = SplitObject(stored.value);
  const bool forward =
      object.has_value() && object->number == ferry::v1::Object::kIpForwardFieldNumber;
  if (!object.has_value() || (replace_status && forward && HasField(object->payload, kStatus))) {
    return DecodeAndEncode(stored, replace_status, status);
  }
  replace_status = replace_status && forward;
  const std::string version = absl::StrCat(stored.revision);
  const size_t meta_size = WireFormatLite::TagSize(kResourceVersion, WireFormatLite::TYPE_STRING) +
                           WireFormatLite::LengthDelimitedSize(version.size());
  size_t payload_size = object->payload.size() +
                        WireFormatLite::TagSize(kMetadata, WireFormatLite::TYPE_MESSAGE) +
                        WireFormatLite::LengthDelimitedSize(meta_size);
  const bool with_status = replace_status && status != nullptr;
  if (with_status) {
    payload_size += WireFormatLite::TagSize(kStatus, WireFormatLite::TYPE_MESSAGE) +
                    WireFormatLite::LengthDelimitedSize(status->size());
  }
  std::string out;
  out.reserve(WireFormatLite::TagSize(object->number, WireFormatLite::TYPE_MESSAGE) +
              WireFormatLite::LengthDelimitedSize(payload_size));
  {
    StringOutputStream stream(&out);
    CodedOutputStream coded(&stream);
    WireFormatLite::WriteTag(object->number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, &coded);
    coded.WriteVarint32(static_cast<uint32_t>(payload_size));
    coded.WriteRaw(object->payload.data(), static_cast<int>(object->payload.size()));
    WireFormatLite::WriteTag(kMetadata, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, &coded);
    coded.WriteVarint32(static_cast<uint32_t>(meta_size));
    WriteBytes(kResourceVersion, version, &coded);
    if (with_status) WriteBytes(kStatus, *status, &coded);
  }
  return out;
}

}  // namespace ferry::controller
