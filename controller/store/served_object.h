#ifndef FERRY_CONTROLLER_STORE_SERVED_OBJECT_H_
#define FERRY_CONTROLLER_STORE_SERVED_OBJECT_H_

// A stored value encoded as the API serves it, without decoding it. A
// watch sends every forward whose status changed, 100k of them after one
// ACK; parsing each stored value only to set two fields and encode it
// again was most of the time between the status and `ferryctl wait`.
// Protobuf merges a message field that is written twice, so the served
// fields are appended to the stored bytes: a parse of the result is equal
// to DecodeStoredInto with the status then set.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// Puts `status` (an encoded IPForwardStatus; none if null or if it does not
// parse) in place of a forward's status; anything else is left as it is.
void ReplaceStatus(const std::string* status, ferry::v1::Object* object);

// `stored` with its revision as metadata.resourceVersion. With
// `replace_status`, a forward's status is `status` (an encoded
// IPForwardStatus; none if null) instead of what is stored. A value that
// is not one object of a known kind, or a forward that holds a status of
// its own (an older build stored it) while one is to be replaced, is
// decoded and encoded instead. DATA_LOSS if the value does not parse.
absl::StatusOr<std::string> EncodeServed(const StoredObject& stored, bool replace_status,
                                         const std::string* status);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_STORE_SERVED_OBJECT_H_
