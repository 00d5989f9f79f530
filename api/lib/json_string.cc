#include "api/lib/json_string.h"

#include "absl/strings/str_format.h"

namespace ferry::api {

void AppendJsonString(absl::string_view text, std::string* out, JsonStringOptions options) {
  out->push_back('"');
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '<':
      case '>':
      case '&':
        if (options.html_safe) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(ch);
        }
        break;
      default:
        // DEL is legal JSON, but escaped like the C0 controls so that a
        // line shown in a terminal is what it says.
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

std::string JsonString(absl::string_view text, JsonStringOptions options) {
  std::string out;
  out.reserve(text.size() + 2);
  AppendJsonString(text, &out, options);
  return out;
}

}  // namespace ferry::api
