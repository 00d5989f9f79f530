#ifndef FERRY_API_LIB_SELECTOR_H_
#define FERRY_API_LIB_SELECTOR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"

namespace ferry::api {

// One term of a label selector, as in Kubernetes' equality-based syntax.
struct LabelRequirement {
  enum class Op {
    kEquals,     // k=v or k==v
    kNotEquals,  // k!=v (also true when k is absent)
    kExists,     // k
    kNotExists,  // !k
  };
  std::string key;
  Op op = Op::kExists;
  std::string value;  // for kEquals and kNotEquals

  bool operator==(const LabelRequirement&) const = default;
};

// All requirements must hold; an empty selector matches everything.
struct LabelSelector {
  std::vector<LabelRequirement> requirements;
};

// Parses "k=v,k2!=v2,k3,!k4". Whitespace around terms and operators is
// ignored. Errors are INVALID_ARGUMENT naming the bad term, e.g.
//   label selector term 2 "Bad Key=x": label key "Bad Key" is invalid: ...
absl::StatusOr<LabelSelector> ParseLabelSelector(absl::string_view text);

bool Matches(const LabelSelector& selector,
             const google::protobuf::Map<std::string, std::string>& labels);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_SELECTOR_H_
