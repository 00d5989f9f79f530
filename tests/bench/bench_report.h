#ifndef FERRY_TESTS_BENCH_BENCH_REPORT_H_
#define FERRY_TESTS_BENCH_BENCH_REPORT_H_

// The benchmark's results: one section per figure, each a table plus notes
// (breakdowns, what limits a missed target). Printed as each section
// finishes and rendered to docs/performance.md at the end.

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace ferry::bench {

struct Section {
  std::string title;
  std::string method;  // how it was measured, one paragraph
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> notes;  // bullets
};

// Facts about the run, for the document's header.
struct RunInfo {
  std::string command;
  std::string date;     // UTC
  std::string machine;  // CPU model, cores, memory, kernel
  std::string tools;    // nft / iptables versions
  double seconds = 0;   // whole run
};

RunInfo DescribeRun(const std::string& command);

// "met" / "MISSED" for the verdict column.
std::string Verdict(bool met);

class Report {
 public:
  // Prints the section to stdout at once, and keeps it for Markdown().
  void Add(Section section);
  // Records a family that failed, so the document says so.
  void AddFailure(const std::string& family, const absl::Status& status);

  std::string Markdown(const RunInfo& info) const;

 private:
  std::vector<Section> sections_;
};

// The section as a Markdown table with its method and notes.
std::string RenderSection(const Section& section);

}  // namespace ferry::bench

#endif  // FERRY_TESTS_BENCH_BENCH_REPORT_H_
