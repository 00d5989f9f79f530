#include "api/lib/flag_help.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ferry::api {
namespace {

constexpr size_t kWidth = 80;
constexpr absl::string_view kIndent = "      ";

void AppendWrapped(absl::string_view text, std::string* out) {
  size_t column = 0;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (column > 0 && column + 1 + word.size() > kWidth) {
      out->push_back('\n');
      column = 0;
    }
    if (column == 0) {
      absl::StrAppend(out, kIndent, word);
      column = kIndent.size() + word.size();
    } else {
      absl::StrAppend(out, " ", word);
      column += 1 + word.size();
    }
  }
  out->push_back('\n');
}

}  // namespace

std::string FormatFlagHelp(const std::vector<FlagHelp>& flags) {
  std::string out;
  for (const FlagHelp& flag : flags) {
    absl::StrAppend(&out, "  --", flag.name);
    if (!flag.value.empty()) absl::StrAppend(&out, " ", flag.value);
    out.push_back('\n');
    std::string help = flag.help;
    if (!flag.default_value.empty()) absl::StrAppend(&help, " (default: ", flag.default_value, ")");
    AppendWrapped(help, &out);
  }
  return out;
}

}  // namespace ferry::api
