#ifndef FERRY_API_LIB_SELECTOR_H_
#define FERRY_API_LIB_SELECTOR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ferry/v1/ferry.pb.h"
#include "google/protobuf/map.h"

namespace ferry::api {

// One term of a label selector, as in Kubernetes' equality- and set-based
// syntax.
struct LabelRequirement {
  enum class Op {
    kEquals,     // k=v or k==v
    kNotEquals,  // k!=v (also true when k is absent)
    kExists,     // k
    kNotExists,  // !k
    kIn,         // k in (v1,v2)
    kNotIn,      // k notin (v1,v2) (also true when k is absent)
  };
  std::string key;
  Op op = Op::kExists;
  std::string value;                // for kEquals and kNotEquals
  std::vector<std::string> values;  // for kIn and kNotIn, never empty

  bool operator==(const LabelRequirement&) const = default;
};

// All requirements must hold; an empty selector matches everything.
struct LabelSelector {
  std::vector<LabelRequirement> requirements;
};

// Parses "k=v,k2!=v2,k3,!k4,k5 in (a,b),k6 notin (c)". Whitespace around
// terms, operators and values is ignored. Errors are INVALID_ARGUMENT
// naming the bad term, e.g.
//   label selector term 2 "Bad Key=x": label key "Bad Key" is invalid: ...
absl::StatusOr<LabelSelector> ParseLabelSelector(absl::string_view text);

// A forward's nodeSelector in the same terms: matchLabels as k=v, and
// matchExpressions' In, NotIn, Exists and DoesNotExist as k in (..),
// k notin (..), k and !k. Validation (api/lib/validation.h) has checked it;
// an unknown operator matches nothing.
LabelSelector FromNodeSelector(const ferry::v1::NodeSelector& selector);

bool Matches(const LabelSelector& selector,
             const google::protobuf::Map<std::string, std::string>& labels);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_SELECTOR_H_
