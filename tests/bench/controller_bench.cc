// Placeholder until the controller benchmark lands; reports itself as not run.
#include <cstdio>

#include "tests/bench/bench.h"

namespace ferry::bench {

absl::Status RunControllerBench(const BenchOptions &, Report *) {
  std::fprintf(stderr, "ferry-bench: controller benchmark not written yet\n");
  return absl::OkStatus();
}

}  // namespace ferry::bench
