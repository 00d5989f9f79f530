#ifndef FERRY_API_LIB_LOG_H_
#define FERRY_API_LIB_LOG_H_

// Structured logging: one line per event on stderr,
//   ts=2026-11-25T12:00:00.123Z level=info msg="pushed config" node=node-a version=3f2a
// abseil 20220623 has no absl/log, and one function is all Ferry needs.

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace ferry {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below this level are dropped. Set once at start (--v=debug).
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

using LogField = std::pair<absl::string_view, std::string>;

// Values are quoted when they contain spaces, quotes or '='.
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
