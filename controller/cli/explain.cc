#include "controller/cli/explain.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "controller/cli/json.h"
#include "controller/cli/kinds.h"

namespace ferry::cli {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

bool IsTimestamp(const FieldDescriptor& field) {
  return field.type() == FieldDescriptor::TYPE_MESSAGE &&
         field.message_type()->full_name() == "google.protobuf.Timestamp";
}

// Whether explain descends into the field's type.
bool HasFields(const FieldDescriptor& field) {
  return field.type() == FieldDescriptor::TYPE_MESSAGE && !field.is_map() && !IsTimestamp(field);
}

std::string ScalarType(const FieldDescriptor& field) {
  if (IsTimestamp(field)) return "string (RFC 3339 time)";
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return "string";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "boolean";
    case FieldDescriptor::CPPTYPE_ENUM:
      return "string";
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return field.message_type()->name();
    default:
      return "integer";
  }
}

std::string TypeName(const FieldDescriptor& field) {
  if (field.is_map()) {
    return absl::StrCat("map[string]", ScalarType(*field.message_type()->map_value()));
  }
  return absl::StrCat(field.is_repeated() ? "[]" : "", ScalarType(field));
}

// "TCP, UDP" for an enum field: the values a manifest may give.
std::string EnumValues(const FieldDescriptor& field) {
  if (field.cpp_type() != FieldDescriptor::CPPTYPE_ENUM) return "";
  std::vector<std::string> values;
  for (int i = 0; i < field.enum_type()->value_count(); ++i) {
    if (field.enum_type()->value(i)->number() != 0)
      values.push_back(field.enum_type()->value(i)->name());
  }
  return absl::StrJoin(values, ", ");
}

std::string DocOf(const Descriptor& message, absl::string_view field) {
  const char* doc = FieldDoc(message.full_name(), field);
  return doc == nullptr ? "<no description>" : doc;
}

void AppendWrapped(absl::string_view text, absl::string_view indent, std::string& out) {
  constexpr size_t kWidth = 80;
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && indent.size() + line.size() + 1 + word.size() > kWidth) {
      absl::StrAppend(&out, indent, line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&out, indent, line, "\n");
}

}  // namespace

absl::StatusOr<std::string> Explain(ferry::v1::ResourceKind kind, absl::string_view path) {
  const Descriptor* root = &KindDescriptor(kind);
  const Descriptor* message = root;
  const FieldDescriptor* field = nullptr;
  std::string walked;
  if (!path.empty()) {
    for (absl::string_view name : absl::StrSplit(path, '.')) {
      if (field != nullptr && !HasFields(*field)) {
        return absl::InvalidArgumentError(
            absl::StrCat("field \"", walked, "\" is a ", TypeName(*field), " and has no fields"));
      }
      const FieldDescriptor* next = FindJsonField(*message, name);
      if (next == nullptr) {
        std::vector<std::string> names;
        for (int i = 0; i < message->field_count(); ++i) {
          names.push_back(message->field(i)->json_name());
        }
        return absl::InvalidArgumentError(absl::StrCat(
            "field \"", name, "\" does not exist in ", walked.empty() ? root->name() : walked,
            " (its fields: ", absl::StrJoin(names, ", "), ")"));
      }
      absl::StrAppend(&walked, walked.empty() ? "" : ".", next->json_name());
      field = next;
      if (HasFields(*field)) message = field->message_type();
    }
  }
  std::string out = absl::StrCat("KIND:     ", root->name(), "\nVERSION:  ferry.dev/v1\n\n");
  if (field != nullptr) {
    absl::StrAppend(&out, "FIELD:    ", field->json_name(), " <", TypeName(*field), ">\n\n");
  }
  absl::StrAppend(&out, "DESCRIPTION:\n");
  if (field != nullptr) {
    AppendWrapped(DocOf(*field->containing_type(), field->name()), "     ", out);
    if (std::string values = EnumValues(*field); !values.empty()) {
      AppendWrapped(absl::StrCat("One of: ", values, "."), "     ", out);
    }
  } else {
    AppendWrapped(DocOf(*message, ""), "     ", out);
  }
  if (field != nullptr && !HasFields(*field)) return out;
  absl::StrAppend(&out, "\nFIELDS:\n");
  for (int i = 0; i < message->field_count(); ++i) {
    const FieldDescriptor& f = *message->field(i);
    absl::StrAppend(&out, "   ", f.json_name(), "\t<", TypeName(f), ">\n");
    AppendWrapped(DocOf(*message, f.name()), "     ", out);
    if (std::string values = EnumValues(f); !values.empty()) {
      AppendWrapped(absl::StrCat("One of: ", values, "."), "     ", out);
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace ferry::cli
