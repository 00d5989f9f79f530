#ifndef FERRY_CONTROLLER_CLI_JSONPATH_H_
#define FERRY_CONTROLLER_CLI_JSONPATH_H_

// The subset of kubectl's JSONPath that ferryctl's `-o jsonpath=`,
// `-o custom-columns=` and `--sort-by=` take:
//
//   text {EXPR} text ...          literal text around expressions
//   {.a.b}  {a.b}  {$.a}  {@.a}    fields, from the root (or the current
//                                  item inside a range)
//   {['a.b']}  {.a['b']}           a field whose name holds a dot
//   {.items[*]}  {.a.*}            every element or member
//   {.items[0]}  {.items[-1]}      one element (from the end when negative)
//   {.c[?(@.type=="Ready")]}       elements whose path equals (==) or
//   {.c[?(@.x!="y")]} {.c[?(@.x)]} differs from (!=) a string or number
//                                  literal, or that have the path
//   {range .items[*]}...{end}      the template between, once per element
//   {"\n"}  {"\t"}  {'x'}          string literals
//
// Several results of one expression print separated by a space; strings
// print bare, objects and arrays as one-line JSON. Anything else (`..`,
// slices, unions, functions) is an INVALID_ARGUMENT error naming it.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controller/cli/json.h"

namespace ferry::cli {

// One parsed path: `.metadata.name`, `.status.conditions[?(@.type=="Ready")].status`.
class JsonPath {
 public:
  // `text` is a path without braces; a leading '$', '@' or '.' is optional.
  static absl::StatusOr<JsonPath> Parse(absl::string_view text);
  // The values the path selects under `root`, in document order.
  std::vector<const JsonValue*> Select(const JsonValue& root) const;

  struct Step;  // json_path.cc

  JsonPath();
  ~JsonPath();
  JsonPath(JsonPath&&) noexcept;
  JsonPath& operator=(JsonPath&&) noexcept;
  JsonPath(const JsonPath&);
  JsonPath& operator=(const JsonPath&);

 private:
  std::vector<Step> steps_;
};

// A whole `-o jsonpath=` template.
class JsonPathTemplate {
 public:
  static absl::StatusOr<JsonPathTemplate> Parse(absl::string_view text);
  // The text for `root`. A path that selects nothing prints nothing.
  std::string Execute(const JsonValue& root) const;

  struct Node;  // jsonpath.cc

  JsonPathTemplate();
  ~JsonPathTemplate();
  JsonPathTemplate(JsonPathTemplate&&) noexcept;
  JsonPathTemplate& operator=(JsonPathTemplate&&) noexcept;

 private:
  std::vector<Node> nodes_;
};

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_JSONPATH_H_
