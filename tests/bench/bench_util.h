#ifndef FERRY_TESTS_BENCH_BENCH_UTIL_H_
#define FERRY_TESTS_BENCH_BENCH_UTIL_H_

// Clocks, CPU accounting, order statistics and number formatting shared by
// the benchmark families.

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::bench {

// Monotonic seconds.
double NowSeconds();

// CPU seconds consumed so far by the calling thread (RUSAGE_THREAD) or the
// whole process (RUSAGE_SELF).
struct CpuTime {
  double user = 0;
  double sys = 0;
  // Voluntary plus involuntary context switches: a wake-up count.
  int64_t switches = 0;
};
CpuTime ThreadCpu();
CpuTime ProcessCpu();

// Order statistics; the input need not be sorted. Empty input gives 0.
double Median(std::vector<double> values);
// Nearest-rank percentile, p in (0, 100].
double Percentile(std::vector<double> values, double p);

// "1.23 s", "45.6 ms", "789 µs" with 3 significant digits.
std::string FormatDuration(double seconds);
// "0.42×".
std::string FormatRatio(double ratio);
// 123456 -> "123,456".
std::string FormatCount(double value);
// "12.3 MiB" from KiB.
std::string FormatKib(int64_t kib);

// Waits until the whole machine was at least `idle` (0..1) idle over a
// 0.5 s window, or `max_seconds` passed; returns the seconds waited. A
// family that starts while the kernel still tears down the previous one's
// namespaces (100k conntrack entries, 100k iptables rules) measures that.
double WaitForQuietMachine(double idle, double max_seconds);

// VmRSS / VmHWM of a process (0: this one) from /proc/<pid>/status, in KiB
// (0 if absent, or the process has exited).
int64_t ReadStatusKib(const char* field, int pid = 0);

}  // namespace ferry::bench

#endif  // FERRY_TESTS_BENCH_BENCH_UTIL_H_
