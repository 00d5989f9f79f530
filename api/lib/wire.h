#ifndef FERRY_API_LIB_WIRE_H_
#define FERRY_API_LIB_WIRE_H_

// Protobuf's wire format written straight into a string, for messages
// assembled from parts already encoded (a node's config from its pieces, a
// push around it) instead of built as messages and encoded again.

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace ferry::api {

// The tag and length of length-delimited field `number`, whose `length`
// bytes the caller appends next.
void AppendLengthPrefix(int number, size_t length, std::string* out);
// Length-delimited field `number` holding `bytes` (a string, bytes or an
// encoded message).
void AppendLengthDelimited(int number, absl::string_view bytes, std::string* out);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_WIRE_H_
