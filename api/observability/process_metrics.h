#ifndef FERRY_API_OBSERVABILITY_PROCESS_METRICS_H_
#define FERRY_API_OBSERVABILITY_PROCESS_METRICS_H_

// What every Prometheus exporter reports about itself, so dashboards and
// alerts written for other exporters work on Ferry's daemons too:
//
//   ferry_build_info{version="0.3.0",component="controller"} 1
//   process_cpu_seconds_total, process_resident_memory_bytes,
//   process_virtual_memory_bytes, process_open_fds, process_max_fds,
//   process_start_time_seconds
//
// The process_* values are read from /proc/self at each scrape (a collect
// hook), so they cost nothing between scrapes.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "api/observability/metrics.h"

namespace ferry::observability {

// Registers both sets on `registry`, which must outlive nothing else of
// ours: the hook reads /proc only. ALREADY_EXISTS if registered twice.
absl::Status RegisterProcessMetrics(Registry* registry, absl::string_view component);

// One reading of /proc/self; a value that could not be read is nullopt
// and is then not updated (the gauge keeps its last value).
struct ProcessSample {
  std::optional<double> cpu_seconds;
  std::optional<double> resident_bytes;
  std::optional<double> virtual_bytes;
  std::optional<double> open_fds;
  std::optional<double> max_fds;
  std::optional<double> start_time_seconds;  // since the Unix epoch
};
ProcessSample ReadProcessSample();

// Parses /proc/<pid>/stat's fields after the command name; exposed for
// tests. `ticks_per_second` is sysconf(_SC_CLK_TCK), `boot_time` /proc/stat's
// btime, `page_size` sysconf(_SC_PAGESIZE).
struct StatFields {
  double cpu_seconds = 0;
  double start_time_seconds = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
};
std::optional<StatFields> ParseProcStat(absl::string_view stat, double ticks_per_second,
                                        double boot_time, double page_size);

}  // namespace ferry::observability

#endif  // FERRY_API_OBSERVABILITY_PROCESS_METRICS_H_
