#include "tests/bench/bench_report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "tests/bench/bench_netns.h"
#include "tests/bench/bench_util.h"

namespace ferry::bench {
namespace {

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

std::string ToolVersion(const std::vector<std::string>& argv) {
  absl::StatusOr<ProcessResult> r = RunProcess(argv, nullptr, "", 10);
  if (!r.ok() || r->exit_code != 0) return absl::StrCat(argv[0], " (not installed)");
  return std::string(absl::StripTrailingAsciiWhitespace(r->output));
}

}  // namespace

RunInfo DescribeRun(const std::string& command) {
  RunInfo info;
  info.command = command;
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
  info.date = date;
  utsname u{};
  uname(&u);
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  info.machine = absl::StrCat(CpuModel(), ", ", sysconf(_SC_NPROCESSORS_ONLN), " cores, ",
                              pages * page / (1024 * 1024 * 1024), " GiB RAM, Linux ", u.release);
  info.tools =
      absl::StrCat(ToolVersion({"nft", "--version"}), "; ", ToolVersion({"iptables", "--version"}));
  return info;
}

std::string Verdict(bool met) { return met ? "met" : "MISSED"; }

std::string RenderSection(const Section& s) {
  std::string out = absl::StrCat("## ", s.title, "\n\n");
  if (!s.method.empty()) absl::StrAppend(&out, s.method, "\n\n");
  if (!s.header.empty()) {
    absl::StrAppend(&out, "| ", absl::StrJoin(s.header, " | "), " |\n|");
    for (size_t i = 0; i < s.header.size(); ++i) absl::StrAppend(&out, "---|");
    absl::StrAppend(&out, "\n");
    for (const auto& row : s.rows) absl::StrAppend(&out, "| ", absl::StrJoin(row, " | "), " |\n");
    absl::StrAppend(&out, "\n");
  }
  for (const std::string& note : s.notes) absl::StrAppend(&out, "- ", note, "\n");
  if (!s.notes.empty()) absl::StrAppend(&out, "\n");
  return out;
}

void Report::Add(Section section) {
  std::fputs(RenderSection(section).c_str(), stdout);
  std::fflush(stdout);
  sections_.push_back(std::move(section));
}

void Report::AddFailure(const std::string& family, const absl::Status& status) {
  Section s;
  s.title = absl::StrCat(family, ": FAILED");
  s.method = absl::StrCat("The benchmark could not complete: ", status.ToString());
  Add(std::move(s));
}

std::string Report::Markdown(const RunInfo& info) const {
  std::string out =
      "# Performance\n\n"
      "Written by `ferry-bench` (tests/bench); do not edit by hand, run it again.\n"
      "Every figure is measured beside its reference in the same run, in network\n"
      "namespaces the benchmark creates and removes, so the ratios hold on a noisy\n"
      "shared machine even when the absolute numbers drift. Medians fight noise;\n"
      "a target the run misses is marked MISSED with what limits it.\n\n";
  absl::StrAppend(&out, "- Machine: ", info.machine, "\n");
  absl::StrAppend(&out, "- Tools: ", info.tools, "\n");
  absl::StrAppend(&out, "- Date: ", info.date, "\n");
  absl::StrAppend(&out, "- Command: `", info.command, "` (or `scripts/run.sh bench`), ",
                  "whole run ", FormatDuration(info.seconds), "\n\n");
  for (const Section& s : sections_) absl::StrAppend(&out, RenderSection(s));
  return out;
}

}  // namespace ferry::bench
