// ferry-bench: Ferry measured beside nft and iptables in the same run, in
// namespaces it creates and removes. Prints each table as it finishes and,
// for a full run, writes docs/performance.md.
//
//   ferry-bench                      everything (about 5-10 minutes)
//   ferry-bench --quick              small N, short windows (< 60 s)
//   ferry-bench --only=cold_sync,datapath --runs=3

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "api/lib/log.h"
#include "tests/bench/bench.h"
#include "tests/bench/bench_forwards.h"
#include "tests/bench/bench_netns.h"
#include "tests/bench/bench_util.h"

ABSL_FLAG(std::string, only, "",
          "comma-separated subset of: cold_sync, change, datapath, fanout, controller, "
          "resources, drift, e2e, etcd, probe");
ABSL_FLAG(bool, quick, false, "small N and short windows: a smoke test under a minute");
ABSL_FLAG(int, runs, 5, "cold syncs per tool, and data path rounds per case");
ABSL_FLAG(int, changes, 200, "single-forward changes per N and path");
ABSL_FLAG(double, seconds, 5, "data path window per case and round, in seconds");
ABSL_FLAG(bool, debug_logs, false,
          "run the controller and agents with --v debug and keep the scratch dir with their logs, "
          "to attribute a figure");
ABSL_FLAG(std::string, out, "",
          "where to write the Markdown report; default: docs/performance.md for a full run (not "
          "--quick, no --only), nowhere otherwise; \"-\" for nowhere");
// Internal: the resources benchmark re-runs this binary as its child.
ABSL_FLAG(int, child_forwards, 0, "internal");
ABSL_FLAG(double, child_idle, 5, "internal");

namespace ferry::bench {
namespace {

constexpr int kSkipExitCode = 77;  // ctest SKIP_RETURN_CODE

struct Family {
  const char* name;
  const char* title;
  std::function<absl::Status(const BenchOptions&, Report*)> run;
};

std::string CommandLine(int argc, char** argv) {
  std::vector<std::string> parts;
  std::string self = argv[0];
  const std::string src = absl::StrCat(FERRY_SOURCE_DIR, "/");
  if (absl::StartsWith(self, src)) self = self.substr(src.size());
  parts.push_back(self);
  for (int i = 1; i < argc; ++i) parts.push_back(argv[i]);
  return absl::StrJoin(parts, " ");
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Benchmarks Ferry beside nft and iptables (needs root). See docs/performance.md.");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::fprintf(stderr, "ferry-bench: unexpected argument \"%s\"\n", rest[1]);
    return 2;
  }
  SetLogLevel(LogLevel::kWarning);
  if (absl::GetFlag(FLAGS_child_forwards) > 0) {
    return RunResourcesChild(absl::GetFlag(FLAGS_child_forwards), absl::GetFlag(FLAGS_child_idle));
  }
  if (geteuid() != 0) {
    std::printf("SKIP: ferry-bench needs root (it creates network namespaces)\n");
    return kSkipExitCode;
  }
  InstallNetnsCleanupHandlers();

  const std::vector<Family> families = {
      {"cold_sync", "cold sync", RunColdSyncBench},
      {"change", "one change among N", RunChangeBench},
      {"datapath", "data path", RunDatapathBench},
      {"fanout", "fan-out to 100 agents", RunFanoutBench},
      {"controller", "controller at 100k forwards", RunControllerBench},
      {"resources", "agent resources", RunResourcesBench},
      {"drift", "drift detection", RunDriftBench},
      {"e2e", "the user's path: apply -> all Ready", RunE2eBench},
      {"etcd", "the user's path on etcd beside SQLite, and failover", RunEtcdBench},
      {"probe", "data-path probes at 10k forwards", RunProbeBench},
  };
  std::set<std::string> only;
  for (absl::string_view name :
       absl::StrSplit(absl::GetFlag(FLAGS_only), ',', absl::SkipWhitespace())) {
    bool known = false;
    for (const Family& f : families) known = known || name == f.name;
    if (!known) {
      std::fprintf(stderr,
                   "ferry-bench: --only: unknown benchmark \"%s\" (cold_sync, change, datapath, "
                   "fanout, controller, resources, drift, e2e, etcd, probe)\n",
                   std::string(name).c_str());
      return 2;
    }
    only.insert(std::string(name));
  }
  BenchOptions options;
  options.quick = absl::GetFlag(FLAGS_quick);
  options.runs = absl::GetFlag(FLAGS_runs);
  options.changes = absl::GetFlag(FLAGS_changes);
  options.seconds = absl::GetFlag(FLAGS_seconds);
  options.debug_logs = absl::GetFlag(FLAGS_debug_logs);
  if (options.runs < 1 || options.changes < 1 || options.seconds <= 0) {
    std::fprintf(stderr, "ferry-bench: --runs, --changes and --seconds must be positive\n");
    return 2;
  }
  char self[4096];
  const ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (len <= 0) return 1;
  self[len] = '\0';
  options.self = self;
  char scratch[] = "/tmp/ferry-bench-XXXXXX";
  if (mkdtemp(scratch) == nullptr) {
    std::perror("ferry-bench: mkdtemp");
    return 1;
  }
  options.scratch_dir = scratch;

  const std::string command = CommandLine(argc, argv);
  const double start = NowSeconds();
  Report report;
  int failures = 0;
  for (const Family& f : families) {
    if (!only.empty() && only.count(f.name) == 0) continue;
    // The sleep inside is the measurement of idleness, not a stand-in for
    // an event: there is none for "the kernel finished its cleanup".
    const double waited = WaitForQuietMachine(0.9, 30);
    std::fprintf(stderr, "ferry-bench: running %s (after %.1f s for the machine to go quiet)...\n",
                 f.title, waited);
    if (absl::Status s = f.run(options, &report); !s.ok()) {
      ++failures;
      report.AddFailure(f.title, s);
    }
  }
  // Also removes what a family that failed midway left behind.
  std::error_code ignored;
  if (options.debug_logs) {
    std::fprintf(stderr, "ferry-bench: logs kept in %s\n", scratch);
  } else {
    std::filesystem::remove_all(scratch, ignored);
  }

  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty() && !options.quick && only.empty()) {
    out = absl::StrCat(FERRY_SOURCE_DIR, "/docs/performance.md");
  }
  if (!out.empty() && out != "-") {
    RunInfo info = DescribeRun(command);
    info.seconds = NowSeconds() - start;
    if (absl::Status s = WriteFile(out, report.Markdown(info)); !s.ok()) {
      std::fprintf(stderr, "ferry-bench: %s\n", s.ToString().c_str());
      return 1;
    }
    std::fprintf(stderr, "ferry-bench: wrote %s\n", out.c_str());
  }
  std::fprintf(stderr, "ferry-bench: done in %s\n", FormatDuration(NowSeconds() - start).c_str());
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace ferry::bench

int main(int argc, char** argv) { return ferry::bench::Main(argc, argv); }
