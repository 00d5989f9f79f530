#ifndef FERRY_CONTROLLER_CLI_JSON_H_
#define FERRY_CONTROLLER_CLI_JSON_H_

// A small ordered JSON tree for ferryctl's output: protobuf's JSON printer
// writes int64 fields as strings and has no paths, so `-o json`,
// `-o jsonpath`, `-o custom-columns` and `--sort-by` work on this instead.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ferry/v1/ferry.pb.h"
#include "google/protobuf/descriptor.h"

namespace ferry::cli {

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  std::string text;  // a number as written, or a string's value
  std::vector<JsonValue> items;
  std::vector<std::pair<std::string, JsonValue>> members;  // in document order

  // The member `key` of an object; nullptr if absent or not an object.
  const JsonValue* Find(absl::string_view key) const;
  bool IsScalar() const { return type != Type::kArray && type != Type::kObject; }

  static JsonValue String(std::string s);
  static JsonValue Number(std::string n);
  static JsonValue Object(std::vector<std::pair<std::string, JsonValue>> members);
  static JsonValue Array(std::vector<JsonValue> items);
};

// RFC 8259 JSON. INVALID_ARGUMENT with the byte offset on malformed input.
absl::StatusOr<JsonValue> ParseJson(absl::string_view text);

// Indented by two spaces per level (kubectl's own -o json uses four; two
// matches ferryctl's YAML); `indent` <= 0 writes it on one line.
std::string WriteJson(const JsonValue& value, int indent = 2);

// How jsonpath and custom-columns print a value: strings bare, other
// scalars as written, arrays and objects as one-line JSON.
std::string DisplayText(const JsonValue& value);

// The field of `type` a JSON member name names: its JSON name or its proto
// name ("nodeSelector" or "node_selector"); nullptr if none.
const google::protobuf::FieldDescriptor* FindJsonField(const google::protobuf::Descriptor& type,
                                                       absl::string_view name);

// Turns the strings protobuf writes for 64-bit integer fields of `type`
// (int64, uint64, sint64, fixed64, sfixed64, at any depth, in repeated and
// map fields too) into numbers.
void NumberInt64Fields(const google::protobuf::Descriptor& type, JsonValue& value);

// The wrapped resource as JSON, as `-o json` prints it: protobuf's JSON
// mapping with 64-bit integers as numbers.
JsonValue ObjectJson(const ferry::v1::Object& object);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_JSON_H_
