#ifndef FERRY_API_LIB_JSON_STRING_H_
#define FERRY_API_LIB_JSON_STRING_H_

// One way to write a JSON string literal, for the JSON log lines, ferryctl's
// JSON and the dashboard's API.

#include <string>

#include "absl/strings/string_view.h"

namespace ferry::api {

struct JsonStringOptions {
  // Also escape <, > and & (as \u003c ...), so the text can sit inside an
  // HTML page's script or attribute without ending it.
  bool html_safe = false;
  // Write each byte that is not part of a well-formed UTF-8 sequence (RFC
  // 3629: no overlong forms, surrogates or values past U+10FFFF) as \ufffd,
  // so the output is valid UTF-8 whatever the input.
  bool replace_invalid_utf8 = false;
};

// Appends `text` as a quoted JSON string: quotes, backslashes, C0 controls
// and DEL escaped (\n, \r, \t, \b, \f by name); other bytes, UTF-8
// included, as they are (but see replace_invalid_utf8).
void AppendJsonString(absl::string_view text, std::string* out, JsonStringOptions options = {});

// The same, returned.
std::string JsonString(absl::string_view text, JsonStringOptions options = {});

}  // namespace ferry::api

#endif  // FERRY_API_LIB_JSON_STRING_H_
