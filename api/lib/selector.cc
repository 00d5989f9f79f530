#include "api/lib/selector.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/lib/validation.h"

namespace ferry::api {
namespace {

absl::Status TermError(size_t index, absl::string_view term, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("label selector term ", index, " \"", term, "\": ", message));
}

absl::StatusOr<LabelRequirement> ParseTerm(size_t index, absl::string_view term) {
  LabelRequirement req;
  absl::string_view key = term, value;
  if (size_t pos = term.find("!="); pos != absl::string_view::npos) {
    req.op = LabelRequirement::Op::kNotEquals;
    key = term.substr(0, pos);
    value = term.substr(pos + 2);
  } else if (size_t pos = term.find('='); pos != absl::string_view::npos) {
    req.op = LabelRequirement::Op::kEquals;
    key = term.substr(0, pos);
    value = term.substr(pos + 1);
    if (absl::ConsumePrefix(&value, "=")) {
      // k==v, the long form of k=v.
    }
  } else if (absl::ConsumePrefix(&key, "!")) {
    req.op = LabelRequirement::Op::kNotExists;
  }
  key = absl::StripAsciiWhitespace(key);
  value = absl::StripAsciiWhitespace(value);
  if (key.empty()) return TermError(index, term, "missing label key before the operator");
  if (absl::Status s = ValidateLabelKey(key); !s.ok()) return TermError(index, term, s.message());
  if (value.find_first_of("=!") != absl::string_view::npos) {
    return TermError(index, term, "more than one operator; use k=v, k!=v, k or !k");
  }
  if (absl::Status s = ValidateLabelValue(value); !s.ok()) {
    return TermError(index, term, s.message());
  }
  req.key = std::string(key);
  req.value = std::string(value);
  return req;
}

}  // namespace

absl::StatusOr<LabelSelector> ParseLabelSelector(absl::string_view text) {
  LabelSelector selector;
  if (absl::StripAsciiWhitespace(text).empty()) return selector;
  size_t index = 0;
  for (absl::string_view term : absl::StrSplit(text, ',')) {
    ++index;
    term = absl::StripAsciiWhitespace(term);
    if (term.empty()) {
      return TermError(index, term, "empty term; separate terms with a single ','");
    }
    absl::StatusOr<LabelRequirement> req = ParseTerm(index, term);
    if (!req.ok()) return req.status();
    selector.requirements.push_back(*std::move(req));
  }
  return selector;
}

bool Matches(const LabelSelector& selector,
             const google::protobuf::Map<std::string, std::string>& labels) {
  for (const LabelRequirement& r : selector.requirements) {
    auto it = labels.find(r.key);
    bool present = it != labels.end();
    switch (r.op) {
      case LabelRequirement::Op::kEquals:
        if (!present || it->second != r.value) return false;
        break;
      case LabelRequirement::Op::kNotEquals:
        if (present && it->second == r.value) return false;
        break;
      case LabelRequirement::Op::kExists:
        if (!present) return false;
        break;
      case LabelRequirement::Op::kNotExists:
        if (present) return false;
        break;
    }
  }
  return true;
}

}  // namespace ferry::api
