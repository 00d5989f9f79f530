#include "tests/bench/bench_util.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ferry::bench {
namespace {

CpuTime FromRusage(int who) {
  rusage ru{};
  getrusage(who, &ru);
  auto sec = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return CpuTime{sec(ru.ru_utime), sec(ru.ru_stime), ru.ru_nvcsw + ru.ru_nivcsw};
}

// Three significant digits, no exponent.
std::string Sig3(double v) {
  if (v >= 100) return absl::StrFormat("%.0f", v);
  if (v >= 10) return absl::StrFormat("%.1f", v);
  return absl::StrFormat("%.2f", v);
}

}  // namespace

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

CpuTime ThreadCpu() { return FromRusage(RUSAGE_THREAD); }
CpuTime ProcessCpu() { return FromRusage(RUSAGE_SELF); }

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * values.size()));
  rank = std::clamp<size_t>(rank, 1, values.size());
  return values[rank - 1];
}

std::string FormatDuration(double seconds) {
  // Thresholds sit just below the unit so 999.96 µs prints as 1.00 ms.
  if (seconds >= 0.9995) return absl::StrCat(Sig3(seconds), " s");
  if (seconds >= 0.9995e-3) return absl::StrCat(Sig3(seconds * 1e3), " ms");
  return absl::StrCat(Sig3(seconds * 1e6), " µs");
}

std::string FormatRatio(double ratio) { return absl::StrCat(Sig3(ratio), "×"); }

std::string FormatCount(double value) {
  std::string digits = absl::StrFormat("%.0f", value);
  std::string out;
  const size_t first = digits.size() % 3 == 0 ? 3 : digits.size() % 3;
  out = digits.substr(0, first);
  for (size_t i = first; i < digits.size(); i += 3) {
    absl::StrAppend(&out, ",", digits.substr(i, 3));
  }
  return out;
}

std::string FormatKib(int64_t kib) { return absl::StrCat(Sig3(kib / 1024.0), " MiB"); }

int64_t ReadStatusKib(const char* field, int pid) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/status")
                            : absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  const size_t len = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, len, field) == 0 && line.size() > len && line[len] == ':') {
      return std::strtoll(line.c_str() + len + 1, nullptr, 10);
    }
  }
  return 0;
}

namespace {

// Idle and total jiffies of all CPUs, from /proc/stat's "cpu" line.
bool ReadCpuJiffies(uint64_t* idle, uint64_t* total) {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return false;
  unsigned long long v[8] = {0};
  const int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                            &v[3], &v[4], &v[5], &v[6], &v[7]);
  std::fclose(f);
  if (n < 5) return false;
  *idle = v[3] + v[4];  // idle + iowait
  *total = 0;
  for (unsigned long long x : v) *total += x;
  return true;
}

}  // namespace

double WaitForQuietMachine(double idle, double max_seconds) {
  const double start = NowSeconds();
  while (NowSeconds() - start < max_seconds) {
    uint64_t idle0 = 0, total0 = 0, idle1 = 0, total1 = 0;
    if (!ReadCpuJiffies(&idle0, &total0)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (!ReadCpuJiffies(&idle1, &total1)) break;
    if (total1 > total0 &&
        static_cast<double>(idle1 - idle0) / static_cast<double>(total1 - total0) >= idle) {
      break;
    }
  }
  return NowSeconds() - start;
}

}  // namespace ferry::bench
