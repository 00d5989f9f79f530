#ifndef FERRY_API_LIB_LOG_H_
#define FERRY_API_LIB_LOG_H_

// Structured logging: one line per event on stderr, logfmt by default,
//   ts=2026-11-25T12:00:00.123Z level=info msg="pushed config" node=node-a version=3f2a
// or JSON lines (--log-format json) for collectors that parse JSON,
//   {"ts":"2026-11-25T12:00:00.123Z","level":"info","msg":"pushed config","node":"node-a"}
// abseil 20220623 has no absl/log, and one function is all Ferry needs.

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ferry {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below this level are dropped. Set once at start (--v=debug).
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

enum class LogFormat { kLogfmt, kJson };

// Set once at start (--log-format), before any thread logs.
void SetLogFormat(LogFormat format);

// "logfmt" or "json"; anything else is INVALID_ARGUMENT naming `flag`.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text, absl::string_view flag);

using LogField = std::pair<absl::string_view, std::string>;

// One line, with its newline, as Log writes it. logfmt quotes values that
// contain spaces, quotes or '='; JSON gives every field as a string.
std::string FormatLogLine(LogFormat format, absl::Time time, LogLevel level, absl::string_view msg,
                          std::initializer_list<LogField> fields);

void Log(LogLevel level, absl::string_view msg, std::initializer_list<LogField> fields = {});

inline void LogInfo(absl::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, msg, f);
}
inline void LogWarning(absl::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarning, msg, f);
}
inline void LogError(absl::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, msg, f);
}
inline void LogDebug(absl::string_view msg, std::initializer_list<LogField> f = {}) {
  if (LogEnabled(LogLevel::kDebug)) Log(LogLevel::kDebug, msg, f);
}

}  // namespace ferry

#endif  // FERRY_API_LIB_LOG_H_
