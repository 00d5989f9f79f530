#include "api/lib/selector.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/algorithm/container.h"
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

// "k in (a,b)" or "k notin (a,b)": the operator is a word between the key
// and the parenthesised values. Nullopt when the term is not of that form.
std::optional<absl::StatusOr<LabelRequirement>> ParseSetTerm(size_t index, absl::string_view term) {
  const size_t open = term.find('(');
  if (open == absl::string_view::npos) return std::nullopt;
  std::vector<absl::string_view> words =
      absl::StrSplit(term.substr(0, open), absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (words.size() != 2 || (words[1] != "in" && words[1] != "notin")) {
    return TermError(index, term, "a set needs the form k in (v1,v2) or k notin (v1,v2)");
  }
  absl::string_view rest = absl::StripAsciiWhitespace(term.substr(open + 1));
  if (!absl::ConsumeSuffix(&rest, ")")) {
    return TermError(index, term, "missing ')' after the values");
  }
  LabelRequirement req;
  req.op = words[1] == "in" ? LabelRequirement::Op::kIn : LabelRequirement::Op::kNotIn;
  if (absl::Status s = ValidateLabelKey(words[0]); !s.ok()) {
    return TermError(index, term, s.message());
  }
  req.key = std::string(words[0]);
  for (absl::string_view value : absl::StrSplit(rest, ',')) {
    value = absl::StripAsciiWhitespace(value);
    if (value.find_first_of("()=!") != absl::string_view::npos) {
      return TermError(index, term, absl::StrCat("value \"", value, "\" is not a label value"));
    }
    if (absl::Status s = ValidateLabelValue(value); !s.ok()) {
      return TermError(index, term, s.message());
    }
    req.values.emplace_back(value);
  }
  if (req.values.size() == 1 && req.values[0].empty()) {
    return TermError(index, term, absl::StrCat("'", words[1], "' needs at least one value"));
  }
  return req;
}

// The selector's terms: split at the commas outside parentheses.
absl::StatusOr<std::vector<absl::string_view>> SplitTerms(absl::string_view text) {
  std::vector<absl::string_view> terms;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ',';
    if (c == '(') ++depth;
    if (c == ')' && --depth < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("label selector \"", text, "\": ')' without '('"));
    }
    if (c == ',' && depth == 0) {
      terms.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (depth != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("label selector \"", text, "\": '(' without ')'"));
  }
  return terms;
}

absl::StatusOr<LabelRequirement> ParseTerm(size_t index, absl::string_view term) {
  if (std::optional<absl::StatusOr<LabelRequirement>> set = ParseSetTerm(index, term)) {
    return *std::move(set);
  }
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
  absl::StatusOr<std::vector<absl::string_view>> terms = SplitTerms(text);
  if (!terms.ok()) return terms.status();
  size_t index = 0;
  for (absl::string_view term : *terms) {
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

LabelSelector FromNodeSelector(const ferry::v1::NodeSelector& selector) {
  LabelSelector out;
  for (const ferry::v1::LabelPair& label : selector.match_labels()) {
    out.requirements.push_back({label.key(), LabelRequirement::Op::kEquals, label.value(), {}});
  }
  for (const ferry::v1::LabelSelectorRequirement& term : selector.match_expressions()) {
    LabelRequirement r;
    r.key = term.key();
    r.values.assign(term.values().begin(), term.values().end());
    if (term.operator_() == "In") {
      r.op = LabelRequirement::Op::kIn;
    } else if (term.operator_() == "NotIn") {
      r.op = LabelRequirement::Op::kNotIn;
    } else if (term.operator_() == "Exists") {
      r.op = LabelRequirement::Op::kExists;
    } else if (term.operator_() == "DoesNotExist") {
      r.op = LabelRequirement::Op::kNotExists;
    } else {
      r.op = LabelRequirement::Op::kIn;  // in nothing: matches no node
      r.values.clear();
    }
    out.requirements.push_back(std::move(r));
  }
  return out;
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
      case LabelRequirement::Op::kIn:
        if (!present || absl::c_find(r.values, it->second) == r.values.end()) return false;
        break;
      case LabelRequirement::Op::kNotIn:
        if (present && absl::c_find(r.values, it->second) != r.values.end()) return false;
        break;
    }
  }
  return true;
}

}  // namespace ferry::api
