#include "api/lib/objects.h"

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

namespace {

template <typename Message>
bool SameBytes(const Message& a, const Message& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

}  // namespace

bool SameSpec(const ferry::v1::IPForwardSpec& a, const ferry::v1::IPForwardSpec& b) {
  return SameBytes(a, b);
}

bool SameLabels(const google::protobuf::Map<std::string, std::string>& a,
                const google::protobuf::Map<std::string, std::string>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, value] : a) {
    auto it = b.find(key);
    if (it == b.end() || it->second != value) return false;
  }
  return true;
}

bool SameSpec(const Object& a, const Object& b) {
  if (a.kind_case() != b.kind_case()) return false;
  // A NodeSpec is its labels alone (objects_test checks it).
  if (a.has_node()) return SameLabels(a.node().spec().labels(), b.node().spec().labels());
  if (a.has_event()) return true;  // an event has no spec: it is the controller's
  return SameSpec(a.ip_forward().spec(), b.ip_forward().spec());
}

bool SamePlanInputs(const ferry::v1::IPForward& a, const ferry::v1::IPForward& b) {
  return a.metadata().generation() == b.metadata().generation() && SameSpec(a.spec(), b.spec());
}

}  // namespace ferry::api
