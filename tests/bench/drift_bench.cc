// Placeholder until the drift benchmark lands; reports itself as not run.
#include <cstdio>

#include "tests/bench/bench.h"

namespace ferry::bench {

absl::Status RunDriftBench(const BenchOptions &, Report *) {
  std::fprintf(stderr, "ferry-bench: drift benchmark not written yet\n");
  return absl::OkStatus();
}

}  // namespace ferry::bench
