#include "controller/cli/json.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/lib/json_string.h"
#include "api/lib/manifest.h"
#include "controller/cli/kinds.h"

namespace ferry::cli {
namespace {

using google::protobuf::FieldDescriptor;

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<JsonValue> ParseDocument() {
    absl::StatusOr<JsonValue> value = ParseValue(0);
    if (!value.ok()) return value;
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text after the value");
    return value;
  }

 private:
  static constexpr int kMaxDepth = 200;

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("JSON at offset ", pos_, ": ", what));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }
  bool Consume(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  absl::StatusOr<JsonValue> ParseValue(int depth) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    SkipSpace();
    if (pos_ >= text_.size()) return Error("unexpected end");
    JsonValue value;
    const char c = text_[pos_];
    if (c == '{') return ParseObject(depth);
    if (c == '[') return ParseArray(depth);
    if (c == '"') {
      absl::StatusOr<std::string> s = ParseString();
      if (!s.ok()) return s.status();
      return JsonValue::String(*std::move(s));
    }
    if (Consume("true")) {
      value.type = JsonValue::Type::kBool;
      value.boolean = true;
      return value;
    }
    if (Consume("false")) {
      value.type = JsonValue::Type::kBool;
      return value;
    }
    if (Consume("null")) return value;
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_])) ||
            absl::string_view("+-.eE").find(text_[pos_]) != absl::string_view::npos)) {
      ++pos_;
    }
    double ignored;
    const absl::string_view number = text_.substr(start, pos_ - start);
    if (number.empty() || !absl::SimpleAtod(number, &ignored)) {
      pos_ = start;
      return Error("want a value");
    }
    return JsonValue::Number(std::string(number));
  }

  absl::StatusOr<JsonValue> ParseObject(int depth) {
    ++pos_;  // '{'
    JsonValue value;
    value.type = JsonValue::Type::kObject;
    SkipSpace();
    if (Consume("}")) return value;
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Error("want a member name");
      absl::StatusOr<std::string> key = ParseString();
      if (!key.ok()) return key.status();
      SkipSpace();
      if (!Consume(":")) return Error("want ':'");
      absl::StatusOr<JsonValue> member = ParseValue(depth + 1);
      if (!member.ok()) return member;
      value.members.emplace_back(*std::move(key), *std::move(member));
      SkipSpace();
      if (Consume("}")) return value;
      if (!Consume(",")) return Error("want ',' or '}'");
    }
  }

  absl::StatusOr<JsonValue> ParseArray(int depth) {
    ++pos_;  // '['
    JsonValue value;
    value.type = JsonValue::Type::kArray;
    SkipSpace();
    if (Consume("]")) return value;
    while (true) {
      absl::StatusOr<JsonValue> item = ParseValue(depth + 1);
      if (!item.ok()) return item;
      value.items.push_back(*std::move(item));
      SkipSpace();
      if (Consume("]")) return value;
      if (!Consume(",")) return Error("want ',' or ']'");
    }
  }

  static void AppendUtf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  absl::StatusOr<uint32_t> Hex4() {
    if (pos_ + 4 > text_.size()) return Error("short \\u escape");
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      cp <<= 4;
      if (h >= '0' && h <= '9') {
        cp |= h - '0';
      } else if (h >= 'a' && h <= 'f') {
        cp |= h - 'a' + 10;
      } else if (h >= 'A' && h <= 'F') {
        cp |= h - 'A' + 10;
      } else {
        return Error("bad \\u escape");
      }
    }
    return cp;
  }

  absl::StatusOr<std::string> ParseString() {
    ++pos_;  // '"'
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      const char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          absl::StatusOr<uint32_t> cp = Hex4();
          if (!cp.ok()) return cp.status();
          uint32_t code = *cp;
          if (code >= 0xD800 && code < 0xDC00 && Consume("\\u")) {
            absl::StatusOr<uint32_t> low = Hex4();
            if (!low.ok()) return low.status();
            code = 0x10000 + ((code - 0xD800) << 10) + (*low - 0xDC00);
          }
          AppendUtf8(code, out);
          break;
        }
        default:
          return Error("bad escape");
      }
    }
    return Error("unterminated string");
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

void Write(const JsonValue& v, int indent, int level, std::string& out) {
  const std::string pad = indent > 0 ? std::string(indent * (level + 1), ' ') : "";
  const std::string close_pad = indent > 0 ? std::string(indent * level, ' ') : "";
  const char* nl = indent > 0 ? "\n" : "";
  switch (v.type) {
    case JsonValue::Type::kNull:
      out += "null";
      return;
    case JsonValue::Type::kBool:
      out += v.boolean ? "true" : "false";
      return;
    case JsonValue::Type::kNumber:
      out += v.text;
      return;
    case JsonValue::Type::kString:
      api::AppendJsonString(v.text, &out);
      return;
    case JsonValue::Type::kArray:
      if (v.items.empty()) {
        out += "[]";
        return;
      }
      out += "[";
      out += nl;
      for (size_t i = 0; i < v.items.size(); ++i) {
        out += pad;
        Write(v.items[i], indent, level + 1, out);
        if (i + 1 < v.items.size()) out += ",";
        out += nl;
      }
      out += close_pad;
      out += "]";
      return;
    case JsonValue::Type::kObject:
      if (v.members.empty()) {
        out += "{}";
        return;
      }
      out += "{";
      out += nl;
      for (size_t i = 0; i < v.members.size(); ++i) {
        out += pad;
        api::AppendJsonString(v.members[i].first, &out);
        out += indent > 0 ? ": " : ":";
        Write(v.members[i].second, indent, level + 1, out);
        if (i + 1 < v.members.size()) out += ",";
        out += nl;
      }
      out += close_pad;
      out += "}";
      return;
  }
}

bool Is64BitInteger(const FieldDescriptor& field) {
  switch (field.type()) {
    case FieldDescriptor::TYPE_INT64:
    case FieldDescriptor::TYPE_UINT64:
    case FieldDescriptor::TYPE_SINT64:
    case FieldDescriptor::TYPE_FIXED64:
    case FieldDescriptor::TYPE_SFIXED64:
      return true;
    default:
      return false;
  }
}

bool IsIntegerText(absl::string_view s) {
  int64_t i;
  uint64_t u;
  return absl::SimpleAtoi(s, &i) || absl::SimpleAtoi(s, &u);
}

// One value of `field` (an element, for repeated fields).
void NumberValue(const FieldDescriptor& field, JsonValue& value) {
  if (Is64BitInteger(field)) {
    if (value.type == JsonValue::Type::kString && IsIntegerText(value.text)) {
      value.type = JsonValue::Type::kNumber;
    }
    return;
  }
  if (field.type() == FieldDescriptor::TYPE_MESSAGE &&
      field.message_type()->file()->package() != "google.protobuf") {
    NumberInt64Fields(*field.message_type(), value);
  }
}

}  // namespace

const JsonValue* JsonValue::Find(absl::string_view key) const {
  if (type != Type::kObject) return nullptr;
  for (const auto& [name, value] : members) {
    if (name == key) return &value;
  }
  return nullptr;
}

JsonValue JsonValue::String(std::string s) {
  JsonValue v;
  v.type = Type::kString;
  v.text = std::move(s);
  return v;
}

JsonValue JsonValue::Number(std::string n) {
  JsonValue v;
  v.type = Type::kNumber;
  v.text = std::move(n);
  return v;
}

JsonValue JsonValue::Object(std::vector<std::pair<std::string, JsonValue>> members) {
  JsonValue v;
  v.type = Type::kObject;
  v.members = std::move(members);
  return v;
}

JsonValue JsonValue::Array(std::vector<JsonValue> items) {
  JsonValue v;
  v.type = Type::kArray;
  v.items = std::move(items);
  return v;
}

absl::StatusOr<JsonValue> ParseJson(absl::string_view text) { return Parser(text).ParseDocument(); }

std::string WriteJson(const JsonValue& value, int indent) {
  std::string out;
  Write(value, indent, 0, out);
  return out;
}

std::string DisplayText(const JsonValue& value) {
  switch (value.type) {
    case JsonValue::Type::kString:
      return value.text;
    case JsonValue::Type::kNumber:
      return value.text;
    case JsonValue::Type::kBool:
      return value.boolean ? "true" : "false";
    case JsonValue::Type::kNull:
      return "null";
    default:
      return WriteJson(value, 0);
  }
}

const FieldDescriptor* FindJsonField(const google::protobuf::Descriptor& type,
                                     absl::string_view name) {
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor* f = type.field(i);
    if (f->json_name() == name || f->name() == name) return f;
  }
  return nullptr;
}

void NumberInt64Fields(const google::protobuf::Descriptor& type, JsonValue& value) {
  if (value.type != JsonValue::Type::kObject) return;
  for (auto& [name, member] : value.members) {
    const FieldDescriptor* field = FindJsonField(type, name);
    if (field == nullptr) continue;
    if (field->is_map()) {
      const FieldDescriptor& map_value = *field->message_type()->map_value();
      for (auto& [key, entry] : member.members) NumberValue(map_value, entry);
    } else if (field->is_repeated()) {
      for (JsonValue& item : member.items) NumberValue(*field, item);
    } else {
      NumberValue(*field, member);
    }
  }
}

JsonValue ObjectJson(const ferry::v1::Object& object) {
  absl::StatusOr<JsonValue> value = ParseJson(api::EncodeJson(object));
  // protobuf's printer writes valid JSON; an empty object beats a crash.
  if (!value.ok()) return JsonValue::Object({});
  const ferry::v1::ResourceKind kind = KindOf(object);
  if (kind != ferry::v1::RESOURCE_KIND_UNSPECIFIED) NumberInt64Fields(KindDescriptor(kind), *value);
  return *std::move(value);
}

}  // namespace ferry::cli
