#include "controller/cli/flags.h"

#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/lib/selector.h"
#include "controller/cli/kinds.h"
#include "controller/cli/printers.h"

namespace ferry::cli {
namespace {

using ferry::v1::ResourceKind;

struct FlagSpec {
  absl::string_view long_name;
  absl::string_view short_name;
  bool takes_value;
};

constexpr FlagSpec kFlags[] = {
    {"server", "", true},       {"request-timeout", "", true},
    {"help", "h", false},       {"filename", "f", true},
    {"dry-run", "", false},     {"output", "o", true},
    {"selector", "l", true},    {"ignore-not-found", "", false},
    {"all", "", false},         {"for", "", true},
    {"timeout", "", true},      {"watch", "w", false},
    {"config", "", true},       {"node", "", true},
    {"ttl", "", true},          {"role", "", true},
    {"overwrite", "", false},   {"no-headers", "", false},
    {"show-labels", "", false}, {"sort-by", "", true},
    {"client", "", false},      {"version", "", false},
};

const FlagSpec* FindFlag(absl::string_view name, bool is_short) {
  for (const FlagSpec& spec : kFlags) {
    if ((is_short ? spec.short_name : spec.long_name) == name && !name.empty()) {
      return &spec;
    }
  }
  return nullptr;
}

}  // namespace

absl::Status UsageError(absl::string_view message) { return absl::InvalidArgumentError(message); }

absl::StatusOr<RawArgs> Tokenize(const std::vector<std::string>& args) {
  RawArgs raw;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      raw.positionals.insert(raw.positionals.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      raw.positionals.push_back(arg);
      continue;
    }
    const bool is_short = arg[1] != '-';
    absl::string_view body = absl::string_view(arg).substr(is_short ? 1 : 2);
    std::optional<std::string> inline_value;
    absl::string_view name = body;
    if (is_short) {
      name = body.substr(0, 1);
      absl::string_view rest = body.substr(1);
      if (absl::ConsumePrefix(&rest, "=") || !rest.empty()) inline_value = std::string(rest);
    } else if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = body.substr(0, eq);
      inline_value = std::string(body.substr(eq + 1));
    }
    const std::string spelled = absl::StrCat(is_short ? "-" : "--", name);
    const FlagSpec* spec = FindFlag(name, is_short);
    if (spec == nullptr) {
      return UsageError(absl::StrCat("unknown flag \"", spelled, "\""));
    }
    Flag flag{std::string(spec->long_name), spelled, "true", raw.positionals.empty()};
    if (spec->takes_value) {
      if (inline_value.has_value()) {
        flag.value = *inline_value;
      } else if (i + 1 < args.size()) {
        flag.value = args[++i];
      } else {
        return UsageError(absl::StrCat("flag ", spelled, " needs a value"));
      }
    } else if (inline_value.has_value()) {
      const std::string v = absl::AsciiStrToLower(*inline_value);
      if (v != "true" && v != "false") {
        return UsageError(
            absl::StrCat("flag ", spelled, ": want true or false, got \"", *inline_value, "\""));
      }
      flag.value = v;
    }
    raw.flags.push_back(std::move(flag));
  }
  return raw;
}

absl::StatusOr<absl::Duration> ParseDurationFlag(const Flag& flag, bool allow_zero) {
  absl::Duration d;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(flag.value, &seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(flag.value, &d)) {
    return UsageError(
        absl::StrCat(flag.spelled, ": want a duration like 30s or 2m, got \"", flag.value, "\""));
  }
  if (d < absl::ZeroDuration() || (!allow_zero && d == absl::ZeroDuration())) {
    return UsageError(absl::StrCat(flag.spelled, ": must be ",
                                   allow_zero ? "zero or positive" : "positive", ", got \"",
                                   flag.value, "\""));
  }
  return d;
}

absl::StatusOr<absl::Duration> ParseTtlFlag(const Flag& flag) {
  const absl::Status bad = UsageError(absl::StrCat(
      flag.spelled, ": want a duration like 1h, 30m, 90d or 1d12h, got \"", flag.value, "\""));
  absl::string_view text = flag.value;
  absl::Duration ttl = absl::ZeroDuration();
  // absl::ParseDuration stops at hours; a leading "<N>d" adds days.
  if (size_t d = text.find('d'); d != absl::string_view::npos) {
    int64_t days = 0;
    if (!absl::SimpleAtoi(text.substr(0, d), &days) || days < 0 || days > int64_t{100} * 365 ||
        !absl::ascii_isdigit(text[0])) {
      return bad;
    }
    ttl = absl::Hours(24 * days);
    text.remove_prefix(d + 1);
  }
  if (!text.empty()) {
    absl::Duration rest;
    if (!absl::ascii_isdigit(text[0]) || !absl::ParseDuration(text, &rest)) return bad;
    ttl += rest;
  } else if (flag.value.empty()) {
    return bad;
  }
  if (ttl < absl::Seconds(1)) {
    return UsageError(
        absl::StrCat(flag.spelled, ": must be at least 1s, got \"", flag.value, "\""));
  }
  return ttl;
}

absl::StatusOr<OutputFormat> ParseOutput(const Flag& flag, std::string* output_template) {
  if (flag.value == "yaml") return OutputFormat::kYaml;
  if (flag.value == "json") return OutputFormat::kJson;
  if (flag.value == "wide") return OutputFormat::kWide;
  if (flag.value == "name") return OutputFormat::kName;
  absl::string_view value = flag.value;
  std::optional<OutputFormat> format;
  if (absl::ConsumePrefix(&value, "jsonpath=")) format = OutputFormat::kJsonPath;
  if (absl::ConsumePrefix(&value, "custom-columns=")) format = OutputFormat::kCustomColumns;
  if (!format.has_value()) {
    return UsageError(absl::StrCat(
        flag.spelled, ": unknown output format \"", flag.value,
        "\" (want yaml, json, wide, name, jsonpath=TEMPLATE or custom-columns=HEADER:PATH,...)"));
  }
  if (value.empty()) {
    return UsageError(absl::StrCat(
        flag.spelled, ": ", *format == OutputFormat::kJsonPath ? "jsonpath" : "custom-columns",
        "= needs a template"));
  }
  if (absl::Status s = CheckOutputTemplate(*format, value); !s.ok()) {
    return UsageError(absl::StrCat(flag.spelled, ": ", s.message()));
  }
  if (output_template != nullptr) *output_template = std::string(value);
  return *format;
}

absl::Status CheckSelector(const Flag& flag) {
  // The controller's own parser: what the server would accept, and the
  // same message for what it would not.
  absl::StatusOr<api::LabelSelector> selector = api::ParseLabelSelector(flag.value);
  if (!selector.ok())
    return UsageError(absl::StrCat(flag.spelled, ": ", selector.status().message()));
  return absl::OkStatus();
}

absl::StatusOr<EventTarget> ParseEventsFor(const Flag& flag) {
  std::vector<std::string> parts = absl::StrSplit(flag.value, absl::MaxSplits('/', 1));
  absl::StatusOr<ResourceKind> kind =
      parts.size() == 2 && !parts[1].empty() ? ParseKind(parts[0]) : absl::InvalidArgumentError("");
  if (!kind.ok() || *kind == ferry::v1::EVENT) {
    return UsageError(
        absl::StrCat(flag.spelled, ": want forward/NAME or node/NAME, got \"", flag.value, "\""));
  }
  return EventTarget{*kind, parts[1]};
}

absl::StatusOr<WaitCondition> ParseWaitFor(const Flag& flag) {
  WaitCondition wait;
  if (flag.value == "delete") {
    wait.for_delete = true;
    return wait;
  }
  std::vector<std::string> parts = absl::StrSplit(flag.value, '=');
  if (parts.size() < 2 || parts.size() > 3 || parts[0] != "condition" || parts[1].empty() ||
      (parts.size() == 3 && parts[2].empty())) {
    return UsageError(absl::StrCat(flag.spelled, ": want condition=NAME[=VALUE] or delete, got \"",
                                   flag.value, "\""));
  }
  wait.condition_type = parts[1];
  if (parts.size() == 3) wait.condition_status = parts[2];
  return wait;
}

}  // namespace ferry::cli
