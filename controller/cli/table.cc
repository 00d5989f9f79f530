#include "controller/cli/table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "api/lib/timestamps.h"

namespace ferry::cli {
namespace {

bool IsSet(const google::protobuf::Timestamp& ts) { return ts.seconds() != 0 || ts.nanos() != 0; }

// Display width in code points, so "→" counts as one column.
size_t Width(absl::string_view text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

}  // namespace

std::vector<size_t> ColumnWidths(const std::vector<TableRow>& rows) {
  std::vector<size_t> widths;
  for (const TableRow& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Width(row[i]));
  }
  return widths;
}

std::string FormatRow(const TableRow& row, const std::vector<size_t>& widths,
                      absl::string_view indent) {
  std::string line(indent);
  for (size_t i = 0; i < row.size(); ++i) {
    absl::StrAppend(&line, row[i]);
    if (i + 1 == row.size()) break;
    const size_t width = i < widths.size() ? std::max(widths[i], Width(row[i])) : Width(row[i]);
    line.append(width - Width(row[i]) + 3, ' ');
  }
  line.erase(line.find_last_not_of(' ') + 1);
  absl::StrAppend(&line, "\n");
  return line;
}

std::string FormatTable(const std::vector<TableRow>& rows, absl::string_view indent) {
  const std::vector<size_t> widths = ColumnWidths(rows);
  std::string out;
  for (const TableRow& row : rows) absl::StrAppend(&out, FormatRow(row, widths, indent));
  return out;
}

std::string HumanDuration(absl::Duration d) {
  const int64_t seconds = std::max<int64_t>(0, absl::ToInt64Seconds(d));
  const int64_t minutes = seconds / 60;
  const int64_t hours = seconds / 3600;
  const int64_t days = hours / 24;
  if (seconds < 120) return absl::StrCat(seconds, "s");
  if (minutes < 10) {
    return seconds % 60 == 0 ? absl::StrCat(minutes, "m")
                             : absl::StrCat(minutes, "m", seconds % 60, "s");
  }
  if (hours < 3) return absl::StrCat(minutes, "m");
  if (hours < 8) {
    return minutes % 60 == 0 ? absl::StrCat(hours, "h")
                             : absl::StrCat(hours, "h", minutes % 60, "m");
  }
  if (hours < 48) return absl::StrCat(hours, "h");
  if (days < 8) {
    return hours % 24 == 0 ? absl::StrCat(days, "d") : absl::StrCat(days, "d", hours % 24, "h");
  }
  if (days < 365 * 2) return absl::StrCat(days, "d");
  return absl::StrCat(days / 365, "y");
}

std::string Age(const google::protobuf::Timestamp& since, absl::Time now) {
  if (!IsSet(since)) return "<unknown>";
  return HumanDuration(now - api::FromTimestamp(since));
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  if (!IsSet(ts)) return "<unknown>";
  return FormatUtc(api::FromTimestamp(ts));
}

std::string FormatUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string OrNone(absl::string_view value) {
  return value.empty() ? "<none>" : std::string(value);
}

}  // namespace ferry::cli
