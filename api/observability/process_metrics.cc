#include "api/observability/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "api/lib/files.h"
#include "ferry/version.h"

namespace ferry::observability {
namespace {

std::optional<std::string> ReadSmallFile(const char* path) {
  absl::StatusOr<std::string> text = api::ReadFileToString(path);
  if (!text.ok()) return std::nullopt;
  return *std::move(text);
}

// /proc/stat's "btime": the boot time in seconds since the epoch.
std::optional<double> BootTime() {
  std::optional<std::string> stat = ReadSmallFile("/proc/stat");
  if (!stat.has_value()) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*stat, '\n')) {
    if (absl::ConsumePrefix(&line, "btime ")) {
      double value = 0;
      if (absl::SimpleAtod(line, &value)) return value;
    }
  }
  return std::nullopt;
}

std::optional<double> OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  double count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the directory's own descriptor
}

}  // namespace

std::optional<StatFields> ParseProcStat(absl::string_view stat, double ticks_per_second,
                                        double boot_time, double page_size) {
  // The command name may hold spaces and parentheses: fields start after
  // the last ')'.
  size_t close = stat.rfind(')');
  if (close == absl::string_view::npos) return std::nullopt;
  std::vector<absl::string_view> f =
      absl::StrSplit(stat.substr(close + 1), ' ', absl::SkipWhitespace());
  // f[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
  constexpr size_t kUtime = 11, kStime = 12, kStart = 19, kVsize = 20, kRss = 21;
  if (f.size() <= kRss || ticks_per_second <= 0) return std::nullopt;
  double utime, stime, start, vsize, rss;
  if (!absl::SimpleAtod(f[kUtime], &utime) || !absl::SimpleAtod(f[kStime], &stime) ||
      !absl::SimpleAtod(f[kStart], &start) || !absl::SimpleAtod(f[kVsize], &vsize) ||
      !absl::SimpleAtod(f[kRss], &rss)) {
    return std::nullopt;
  }
  StatFields out;
  out.cpu_seconds = (utime + stime) / ticks_per_second;
  out.start_time_seconds = boot_time + start / ticks_per_second;
  out.virtual_bytes = vsize;
  out.resident_bytes = rss * page_size;
  return out;
}

ProcessSample ReadProcessSample() {
  ProcessSample sample;
  std::optional<std::string> stat = ReadSmallFile("/proc/self/stat");
  // Read once: the boot time does not change, and /proc/stat grows with
  // the number of CPUs.
  static const std::optional<double> boot = BootTime();
  if (stat.has_value() && boot.has_value()) {
    std::optional<StatFields> fields =
        ParseProcStat(*stat, static_cast<double>(sysconf(_SC_CLK_TCK)), *boot,
                      static_cast<double>(sysconf(_SC_PAGESIZE)));
    if (fields.has_value()) {
      sample.cpu_seconds = fields->cpu_seconds;
      sample.start_time_seconds = fields->start_time_seconds;
      sample.virtual_bytes = fields->virtual_bytes;
      sample.resident_bytes = fields->resident_bytes;
    }
  }
  sample.open_fds = OpenFds();
  if (rlimit limit; getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    sample.max_fds = static_cast<double>(limit.rlim_cur);
  }
  return sample;
}

absl::Status RegisterProcessMetrics(Registry* registry, absl::string_view component) {
  absl::StatusOr<GaugeFamily*> build = registry->AddGauge(
      "ferry_build_info", "Always 1; the labels say which Ferry build this process runs",
      {"version", "component"});
  if (!build.ok()) return build.status();
  (*build)->WithLabels({kFerryVersion, std::string(component)})->Set(1);

  absl::StatusOr<CounterFamily*> cpu = registry->AddCounter(
      "process_cpu_seconds_total", "User and system CPU time spent, in seconds");
  if (!cpu.ok()) return cpu.status();
  struct Gauges {
    const char* name;
    const char* help;
    std::optional<double> ProcessSample::*value;
    Gauge* gauge = nullptr;
  };
  std::vector<Gauges> gauges = {
      {"process_resident_memory_bytes", "Resident memory size in bytes",
       &ProcessSample::resident_bytes},
      {"process_virtual_memory_bytes", "Virtual memory size in bytes",
       &ProcessSample::virtual_bytes},
      {"process_open_fds", "Open file descriptors", &ProcessSample::open_fds},
      {"process_max_fds", "The soft limit on open file descriptors", &ProcessSample::max_fds},
      {"process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds",
       &ProcessSample::start_time_seconds},
  };
  for (Gauges& g : gauges) {
    absl::StatusOr<GaugeFamily*> family = registry->AddGauge(g.name, g.help);
    if (!family.ok()) return family.status();
    g.gauge = (*family)->WithLabels({});
  }
  Counter* cpu_counter = (*cpu)->WithLabels({});
  // Two scrapes at once must not both add the same CPU time.
  auto mu = std::make_shared<absl::Mutex>();
  registry->AddCollectHook([cpu_counter, gauges, mu] {
    absl::MutexLock lock(mu.get());
    ProcessSample sample = ReadProcessSample();
    // A counter only goes up: add what was used since the last scrape.
    if (sample.cpu_seconds.has_value()) {
      cpu_counter->Increment(*sample.cpu_seconds - cpu_counter->Value());
    }
    for (const Gauges& g : gauges) {
      if ((sample.*g.value).has_value()) g.gauge->Set(*(sample.*g.value));
    }
  });
  return absl::OkStatus();
}

}  // namespace ferry::observability
