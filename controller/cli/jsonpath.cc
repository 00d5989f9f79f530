#include "controller/cli/jsonpath.h"

#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace ferry::cli {

struct JsonPath::Step {
  enum class Kind { kField, kWildcard, kIndex, kFilter };
  enum class Test { kExists, kEquals, kNotEquals };
  Kind kind = Kind::kField;
  std::string name;   // kField
  int64_t index = 0;  // kIndex
  // kFilter: `@.path OP literal`, or `@.path` alone (kExists).
  std::shared_ptr<JsonPath> filter_path;
  Test test = Test::kExists;
  std::string literal;
};

struct JsonPathTemplate::Node {
  enum class Kind { kText, kPath, kRange };
  Kind kind = Kind::kText;
  std::string text;
  JsonPath path;
  std::vector<Node> body;  // kRange
};

namespace {

using Step = JsonPath::Step;

absl::Status PathError(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("jsonpath \"", path, "\": ", what));
}

// The index of the quote closing the one at `open`, or npos.
size_t ClosingQuote(absl::string_view text, size_t open) {
  const char quote = text[open];
  for (size_t i = open + 1; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == quote) {
      return i;
    }
  }
  return absl::string_view::npos;
}

// A quoted literal's value, with \n, \t, \\ and the quote unescaped.
std::string Unquote(absl::string_view quoted) {
  std::string out;
  for (size_t i = 1; i + 1 < quoted.size(); ++i) {
    char c = quoted[i];
    if (c == '\\' && i + 2 < quoted.size()) {
      c = quoted[++i];
      if (c == 'n') c = '\n';
      if (c == 't') c = '\t';
      if (c == 'r') c = '\r';
    }
    out.push_back(c);
  }
  return out;
}

bool IsQuote(char c) { return c == '"' || c == '\''; }

absl::StatusOr<Step> ParseFilter(absl::string_view path, absl::string_view body) {
  // body: what is between "?(" and ")".
  Step step;
  step.kind = Step::Kind::kFilter;
  size_t op = absl::string_view::npos;
  for (size_t i = 0; i < body.size(); ++i) {
    if (IsQuote(body[i])) {
      i = ClosingQuote(body, i);
      if (i == absl::string_view::npos) return PathError(path, "unterminated string in a filter");
      continue;
    }
    if (body.substr(i, 2) == "==" || body.substr(i, 2) == "!=") {
      op = i;
      break;
    }
    if (body[i] == '<' || body[i] == '>' || body.substr(i, 2) == "&&" ||
        body.substr(i, 2) == "||" || body.substr(i, 2) == "=~") {
      return PathError(path, "filters support only ==, != and existence ([?(@.x)])");
    }
  }
  absl::string_view left = absl::StripAsciiWhitespace(body.substr(0, op));
  if (!absl::StartsWith(left, "@")) {
    return PathError(path,
                     "a filter compares a path from the element, e.g. [?(@.type==\"Ready\")]");
  }
  absl::StatusOr<JsonPath> sub = JsonPath::Parse(left);
  if (!sub.ok()) return sub.status();
  step.filter_path = std::make_shared<JsonPath>(*std::move(sub));
  if (op == absl::string_view::npos) return step;
  step.test = body[op] == '=' ? Step::Test::kEquals : Step::Test::kNotEquals;
  absl::string_view right = absl::StripAsciiWhitespace(body.substr(op + 2));
  if (!right.empty() && IsQuote(right[0])) {
    if (ClosingQuote(right, 0) != right.size() - 1) {
      return PathError(path, "want one quoted string after the operator");
    }
    step.literal = Unquote(right);
    return step;
  }
  double number;
  if (right == "true" || right == "false" || absl::SimpleAtod(right, &number)) {
    step.literal = std::string(right);
    return step;
  }
  return PathError(path, absl::StrCat("want a quoted string or a number after the operator, got \"",
                                      right, "\""));
}

// "[...]" at text[pos] (pos at '['); advances pos past ']'.
absl::StatusOr<Step> ParseBracket(absl::string_view path, absl::string_view text, size_t& pos) {
  size_t close = absl::string_view::npos;
  int depth = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    if (IsQuote(text[i])) {
      i = ClosingQuote(text, i);
      if (i == absl::string_view::npos) break;
      continue;
    }
    if (text[i] == '[') ++depth;
    if (text[i] == ']' && --depth == 0) {
      close = i;
      break;
    }
  }
  if (close == absl::string_view::npos) return PathError(path, "'[' without ']'");
  absl::string_view inner = absl::StripAsciiWhitespace(text.substr(pos + 1, close - pos - 1));
  pos = close + 1;
  Step step;
  if (inner == "*") {
    step.kind = Step::Kind::kWildcard;
    return step;
  }
  if (absl::StartsWith(inner, "?(") && absl::EndsWith(inner, ")")) {
    return ParseFilter(path, inner.substr(2, inner.size() - 3));
  }
  if (!inner.empty() && IsQuote(inner[0]) && ClosingQuote(inner, 0) == inner.size() - 1) {
    step.kind = Step::Kind::kField;
    step.name = Unquote(inner);
    return step;
  }
  if (absl::StrContains(inner, ':')) return PathError(path, "slices ([a:b]) are not supported");
  if (absl::StrContains(inner, ',')) return PathError(path, "unions ([a,b]) are not supported");
  if (!absl::SimpleAtoi(inner, &step.index)) {
    return PathError(path, absl::StrCat("\"[", inner,
                                        "]\": want [*], [N], ['name'] or [?(@.field==\"value\")]"));
  }
  step.kind = Step::Kind::kIndex;
  return step;
}

bool FilterKeeps(const Step& step, const JsonValue& element) {
  std::vector<const JsonValue*> found = step.filter_path->Select(element);
  if (step.test == Step::Test::kExists) return !found.empty();
  bool equal = false;
  for (const JsonValue* v : found) {
    if (v->IsScalar() && DisplayText(*v) == step.literal) equal = true;
  }
  return step.test == Step::Test::kEquals ? equal : !equal;
}

}  // namespace

JsonPath::JsonPath() = default;
JsonPath::~JsonPath() = default;
JsonPath::JsonPath(JsonPath&&) noexcept = default;
JsonPath& JsonPath::operator=(JsonPath&&) noexcept = default;
JsonPath::JsonPath(const JsonPath&) = default;
JsonPath& JsonPath::operator=(const JsonPath&) = default;

absl::StatusOr<JsonPath> JsonPath::Parse(absl::string_view text) {
  const absl::string_view path = text;
  text = absl::StripAsciiWhitespace(text);
  if (absl::StartsWith(text, "$") || absl::StartsWith(text, "@")) text.remove_prefix(1);
  JsonPath result;
  size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '[') {
      absl::StatusOr<Step> step = ParseBracket(path, text, pos);
      if (!step.ok()) return step.status();
      result.steps_.push_back(*std::move(step));
      first = false;
      continue;
    }
    if (c == '.') {
      ++pos;
      if (pos < text.size() && text[pos] == '.') {
        return PathError(path, "recursive descent (..) is not supported");
      }
    } else if (!first) {
      return PathError(path, absl::StrCat("unexpected '", std::string(1, c), "'"));
    }
    first = false;
    if (pos < text.size() && text[pos] == '*') {
      ++pos;
      Step wildcard;
      wildcard.kind = Step::Kind::kWildcard;
      result.steps_.push_back(std::move(wildcard));
      continue;
    }
    const size_t end = text.find_first_of(".[", pos);
    absl::string_view name =
        text.substr(pos, end == absl::string_view::npos ? absl::string_view::npos : end - pos);
    if (name.empty()) {
      if (pos >= text.size() && result.steps_.empty()) break;  // "." alone: the root
      return PathError(path, "empty field name");
    }
    if (name.find_first_of(" ()=!\"'{}") != absl::string_view::npos) {
      return PathError(path, absl::StrCat("\"", name,
                                          "\" is not a field name (functions and operators are "
                                          "not supported)"));
    }
    Step step;
    step.name = std::string(name);
    result.steps_.push_back(std::move(step));
    pos += name.size();
  }
  return result;
}

std::vector<const JsonValue*> JsonPath::Select(const JsonValue& root) const {
  std::vector<const JsonValue*> current = {&root};
  for (const Step& step : steps_) {
    std::vector<const JsonValue*> next;
    for (const JsonValue* v : current) {
      switch (step.kind) {
        case Step::Kind::kField:
          if (const JsonValue* member = v->Find(step.name)) next.push_back(member);
          break;
        case Step::Kind::kWildcard:
          for (const JsonValue& item : v->items) next.push_back(&item);
          for (const auto& [name, member] : v->members) next.push_back(&member);
          break;
        case Step::Kind::kIndex: {
          const int64_t size = static_cast<int64_t>(v->items.size());
          const int64_t i = step.index < 0 ? size + step.index : step.index;
          if (v->type == JsonValue::Type::kArray && i >= 0 && i < size) {
            next.push_back(&v->items[i]);
          }
          break;
        }
        case Step::Kind::kFilter:
          for (const JsonValue& item : v->items) {
            if (FilterKeeps(step, item)) next.push_back(&item);
          }
          break;
      }
    }
    current = std::move(next);
  }
  return current;
}

JsonPathTemplate::JsonPathTemplate() = default;
JsonPathTemplate::~JsonPathTemplate() = default;
JsonPathTemplate::JsonPathTemplate(JsonPathTemplate&&) noexcept = default;
JsonPathTemplate& JsonPathTemplate::operator=(JsonPathTemplate&&) noexcept = default;

absl::StatusOr<JsonPathTemplate> JsonPathTemplate::Parse(absl::string_view text) {
  // The nodes being filled: the top level, then each open range's body.
  std::vector<std::vector<Node>> open(1);
  std::vector<JsonPath> range_paths;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t brace = text.find('{', pos);
    if (brace != pos) {
      Node literal;
      literal.text = std::string(text.substr(pos, brace - pos));
      open.back().push_back(std::move(literal));
      if (brace == absl::string_view::npos) break;
    }
    size_t close = absl::string_view::npos;
    for (size_t i = brace + 1; i < text.size(); ++i) {
      if (IsQuote(text[i])) {
        i = ClosingQuote(text, i);
        if (i == absl::string_view::npos) break;
        continue;
      }
      if (text[i] == '}') {
        close = i;
        break;
      }
    }
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("jsonpath template \"", text, "\": '{' at ", brace, " without '}'"));
    }
    absl::string_view expr = absl::StripAsciiWhitespace(text.substr(brace + 1, close - brace - 1));
    pos = close + 1;
    if (expr == "end") {
      if (range_paths.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("jsonpath template \"", text, "\": {end} without {range}"));
      }
      Node range;
      range.kind = Node::Kind::kRange;
      range.path = std::move(range_paths.back());
      range.body = std::move(open.back());
      range_paths.pop_back();
      open.pop_back();
      open.back().push_back(std::move(range));
      continue;
    }
    if (absl::ConsumePrefix(&expr, "range ")) {
      absl::StatusOr<JsonPath> path = JsonPath::Parse(expr);
      if (!path.ok()) return path.status();
      range_paths.push_back(*std::move(path));
      open.emplace_back();
      continue;
    }
    if (!expr.empty() && IsQuote(expr[0])) {
      if (ClosingQuote(expr, 0) != expr.size() - 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("jsonpath template \"", text, "\": bad string literal {", expr, "}"));
      }
      Node literal;
      literal.text = Unquote(expr);
      open.back().push_back(std::move(literal));
      continue;
    }
    if (expr.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("jsonpath template \"", text, "\": empty expression {}"));
    }
    absl::StatusOr<JsonPath> path = JsonPath::Parse(expr);
    if (!path.ok()) return path.status();
    Node node;
    node.kind = Node::Kind::kPath;
    node.path = *std::move(path);
    open.back().push_back(std::move(node));
  }
  if (!range_paths.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("jsonpath template \"", text, "\": {range} without {end}"));
  }
  JsonPathTemplate result;
  result.nodes_ = std::move(open.front());
  return result;
}

namespace {

void Run(const std::vector<JsonPathTemplate::Node>& nodes, const JsonValue& current,
         std::string& out) {
  using Node = JsonPathTemplate::Node;
  for (const Node& node : nodes) {
    switch (node.kind) {
      case Node::Kind::kText:
        out += node.text;
        break;
      case Node::Kind::kPath: {
        std::vector<std::string> texts;
        for (const JsonValue* v : node.path.Select(current)) texts.push_back(DisplayText(*v));
        out += absl::StrJoin(texts, " ");
        break;
      }
      case Node::Kind::kRange:
        for (const JsonValue* v : node.path.Select(current)) Run(node.body, *v, out);
        break;
    }
  }
}

}  // namespace

std::string JsonPathTemplate::Execute(const JsonValue& root) const {
  std::string out;
  Run(nodes_, root, out);
  return out;
}

}  // namespace ferry::cli
