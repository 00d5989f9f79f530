#ifndef FERRY_CONTROLLER_CLI_TABLE_H_
#define FERRY_CONTROLLER_CLI_TABLE_H_

// Text layout shared by the printers: aligned columns and kubectl-style ages.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace ferry::cli {

using TableRow = std::vector<std::string>;

// Left-aligned columns separated by three spaces (kubectl's layout), each
// line prefixed by `indent`, without trailing spaces.
std::string FormatTable(const std::vector<TableRow>& rows, absl::string_view indent = "");

// The widest cell of each column, for rows printed later in the same layout
// (get -w).
std::vector<size_t> ColumnWidths(const std::vector<TableRow>& rows);
// One line of a table laid out with `widths`; a wider cell pushes the rest.
std::string FormatRow(const TableRow& row, const std::vector<size_t>& widths,
                      absl::string_view indent = "");

// Short human duration: "45s", "5m30s", "17m", "3h5m", "20h", "2d3h", "45d", "3y".
std::string HumanDuration(absl::Duration d);

// Age of `since` at `now`; "<unknown>" when the timestamp is unset.
std::string Age(const google::protobuf::Timestamp& since, absl::Time now);

// RFC 3339 in UTC, e.g. "2026-11-25T12:00:00Z"; "<unknown>" when unset.
std::string FormatTimestamp(const google::protobuf::Timestamp& ts);
// The same for an absl::Time.
std::string FormatUtc(absl::Time t);

// The value or "<none>" when empty, as kubectl prints missing fields.
std::string OrNone(absl::string_view value);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_TABLE_H_
