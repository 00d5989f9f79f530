#include "api/lib/objects.h"

#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/str_cat.h"

namespace ferry::api {

using ferry::v1::Object;
using ferry::v1::ResourceKind;

ResourceKind KindOf(const Object& object) {
  switch (object.kind_case()) {
    case Object::kIpForward:
      return ferry::v1::IP_FORWARD;
    case Object::kNode:
      return ferry::v1::NODE;
    case Object::kEvent:
      return ferry::v1::EVENT;
    case Object::KIND_NOT_SET:
      break;
  }
  return ferry::v1::RESOURCE_KIND_UNSPECIFIED;
}

std::string KindName(ResourceKind kind) {
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

std::string KindName(const Object& object) { return KindName(KindOf(object)); }

std::string KindLower(ResourceKind kind) {
  switch (kind) {
    case ferry::v1::IP_FORWARD:
      return "ipforward";
    case ferry::v1::NODE:
      return "node";
    case ferry::v1::EVENT:
      return "event";
    default:
      return "unknown";
  }
}

const ferry::v1::ObjectMeta& MetaOf(const Object& object) {
  if (object.has_node()) return object.node().metadata();
  if (object.has_event()) return object.event().metadata();
  return object.ip_forward().metadata();
}

ferry::v1::ObjectMeta* MutableMetaOf(Object* object) {
  if (object->has_node()) return object->mutable_node()->mutable_metadata();
  if (object->has_event()) return object->mutable_event()->mutable_metadata();
  return object->mutable_ip_forward()->mutable_metadata();
}

std::string ObjectName(const Object& object) {
  if (object.kind_case() == Object::KIND_NOT_SET) return "";
  return MetaOf(object).name();
}

std::string ObjectRef(ResourceKind kind, absl::string_view name) {
  return absl::StrCat(KindLower(kind), "/", name);
}

std::string ObjectRef(const Object& object) {
  return ObjectRef(KindOf(object), MetaOf(object).name());
}

bool SameSpec(const Object& a, const Object& b) {
  using google::protobuf::util::MessageDifferencer;
  if (a.kind_case() != b.kind_case()) return false;
  if (a.has_node()) return MessageDifferencer::Equals(a.node().spec(), b.node().spec());
  if (a.has_event()) return true;  // an event has no spec: it is the controller's
  return MessageDifferencer::Equals(a.ip_forward().spec(), b.ip_forward().spec());
}

}  // namespace ferry::api
