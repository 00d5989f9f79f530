#ifndef FERRY_API_LIB_OBJECTS_H_
#define FERRY_API_LIB_OBJECTS_H_

// The one set of accessors over ferry.v1.Object's oneof: its kind (as the
// enum, the stored "IPForward" spelling and kubectl's lower-case one) and
// its metadata. The store, the server, the planner and ferryctl all use
// these; adding a kind means adding it here only.

#include <string>

#include "absl/strings/string_view.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::api {

// apiVersion of every Ferry object (and of ferryctl's client config).
inline constexpr char kApiVersion[] = "ferry.dev/v1";

inline constexpr char kKindIPForward[] = "IPForward";
inline constexpr char kKindNode[] = "Node";
inline constexpr char kKindEvent[] = "Event";

// RESOURCE_KIND_UNSPECIFIED when no kind is set.
ferry::v1::ResourceKind KindOf(const ferry::v1::Object& object);

// "IPForward", "Node", "Event"; "" for an unset or unknown kind.
std::string KindName(ferry::v1::ResourceKind kind);
std::string KindName(const ferry::v1::Object& object);

// "ipforward", "node", "event" (kubectl's spelling); "unknown" otherwise.
std::string KindLower(ferry::v1::ResourceKind kind);

// The metadata of whichever kind is set (an IPForward's when none is).
const ferry::v1::ObjectMeta& MetaOf(const ferry::v1::Object& object);
ferry::v1::ObjectMeta* MutableMetaOf(ferry::v1::Object* object);

// metadata.name; "" when no kind is set.
std::string ObjectName(const ferry::v1::Object& object);

// "ipforward/web": how events, errors and ferryctl name an object.
std::string ObjectRef(ferry::v1::ResourceKind kind, absl::string_view name);
std::string ObjectRef(const ferry::v1::Object& object);

// "Did it change?", answered one way: by the serialized bytes. These
// messages have no map fields, so equal content serializes to equal bytes
// (objects_test checks that they stay map-free), and bytes compare far
// faster than reflection at 100k forwards.
//
// The user-owned part (the spec) of two objects of the same kind is equal.
bool SameSpec(const ferry::v1::IPForwardSpec& a, const ferry::v1::IPForwardSpec& b);
// Equal label maps, entry by entry (maps serialize in no set order).
bool SameLabels(const google::protobuf::Map<std::string, std::string>& a,
                const google::protobuf::Map<std::string, std::string>& b);
bool SameSpec(const ferry::v1::Object& a, const ferry::v1::Object& b);
// Same generation and spec: nothing the planner reads has changed.
bool SamePlanInputs(const ferry::v1::IPForward& a, const ferry::v1::IPForward& b);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_OBJECTS_H_
