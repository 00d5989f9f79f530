#include "api/lib/json_string.h"

#include "absl/strings/str_format.h"

namespace ferry::api {
namespace {

// The length of the UTF-8 sequence starting at s[i], or 0 if it is not a
// well-formed one (overlong forms, surrogates and values past U+10FFFF
// included, as RFC 3629 says).
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

void AppendJsonString(absl::string_view text, std::string* out, JsonStringOptions options) {
  out->push_back('"');
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 0x80 && options.replace_invalid_utf8) {
      const size_t n = Utf8SequenceLength(text, i);
      if (n == 0) {
        out->append("\\ufffd");
      } else {
        out->append(text.data() + i, n);
        i += n - 1;
      }
      continue;
    }
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
