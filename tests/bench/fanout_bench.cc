// Placeholder until the fanout benchmark lands; reports itself as not run.
#include <cstdio>

#include "tests/bench/bench.h"

namespace ferry::bench {

absl::Status RunFanoutBench(const BenchOptions &, Report *) {
  std::fprintf(stderr, "ferry-bench: fanout benchmark not written yet\n");
  return absl::OkStatus();
}

}  // namespace ferry::bench
