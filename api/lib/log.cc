#include "api/lib/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/lib/json_string.h"

namespace ferry {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<LogFormat> g_format{LogFormat::kLogfmt};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void AppendValue(std::string* out, absl::string_view v) {
  bool quote = v.empty() || v.find_first_of(" \"=\t\n") != absl::string_view::npos;
  if (!quote) {
    out->append(v.data(), v.size());
    return;
  }
  out->push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') out->push_back('\\');
    if (c == '\n') {
      out->append("\\n");
      continue;
    }
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

void SetLogFormat(LogFormat format) { g_format = format; }

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text, absl::string_view flag) {
  if (text == "logfmt") return LogFormat::kLogfmt;
  if (text == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat(flag, ": must be logfmt or json, got \"", text, "\""));
}

std::string FormatLogLine(LogFormat format, absl::Time time, LogLevel level, absl::string_view msg,
                          std::initializer_list<LogField> fields) {
  const std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
  std::string line;
  if (format == LogFormat::kJson) {
    absl::StrAppend(&line, "{\"ts\":\"", ts, "\",\"level\":\"", LevelName(level), "\",\"msg\":");
    api::AppendJsonString(msg, &line);
    for (const auto& [k, v] : fields) {
      line.push_back(',');
      api::AppendJsonString(k, &line);
      line.push_back(':');
      api::AppendJsonString(v, &line);
    }
    line.append("}\n");
    return line;
  }
  line = absl::StrCat("ts=", ts, " level=", LevelName(level), " msg=");
  AppendValue(&line, msg);
  for (const auto& [k, v] : fields) {
    absl::StrAppend(&line, " ", k, "=");
    AppendValue(&line, v);
  }
  line.push_back('\n');
  return line;
}

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level; }

void Log(LogLevel level, absl::string_view msg, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  std::string line = FormatLogLine(g_format.load(), absl::Now(), level, msg, fields);
  // One write per line keeps lines whole when threads log at once.
  fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace ferry
