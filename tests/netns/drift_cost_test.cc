// Not a timed test: prints the CPU cost of one periodic verification at 10k
// and 100k DNAT elements, with the full element dump and with the dump
// skipped because the nftables generation is unchanged. Asserts only that
// the verification finds no drift in what the agent itself wrote.

#include <sys/resource.h>

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/netlink_backends.h"
#include "node-agent/kernel/nft_generation.h"
#include "node-agent/reconcile/drift_checker.h"
#include "node-agent/reconcile/reconciler.h"
#include "tests/netns/netns_fixture.h"

namespace ferry::agent {
namespace {

double ThreadCpuMs() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

// `elements` DNAT elements: 1024-port forwards over as many frontend addresses as needed.
ferry::v1::NodeConfig Config(int elements) {
  ferry::v1::NodeConfig config;
  config.set_version("bench");
  int forward = 0;
  for (int left = elements; left > 0; left -= 1024, ++forward) {
    ferry::v1::DnatRule* rule = config.add_dnat();
    rule->set_forward(absl::StrCat("f", forward));
    rule->set_frontend_address(absl::StrCat("198.18.", forward / 250, ".", forward % 250 + 1));
    rule->set_protocol(ferry::v1::TCP);
    rule->set_port(10000);
    rule->set_end_port(10000 + std::min(left, 1024) - 1);
    rule->set_backend_address("10.8.0.2");
  }
  return config;
}

class DriftCostTest : public testing::NetnsTest, public ::testing::WithParamInterface<int> {};

TEST_P(DriftCostTest, PeriodicVerificationCost) {
  absl::StatusOr<std::unique_ptr<NatBackend>> nat = NewNetlinkNatBackend();
  ASSERT_TRUE(nat.ok()) << nat.status();
  absl::StatusOr<std::unique_ptr<RouteBackend>> routes = NewNetlinkRouteBackend();
  ASSERT_TRUE(routes.ok()) << routes.status();
  std::unique_ptr<SysctlBackend> sysctls = NewProcSysctlBackend();
  Reconciler reconciler(nat->get(), routes->get(), sysctls.get(), Reconciler::Options{});
  DriftChecker checker(&reconciler, nat->get(), routes->get(), sysctls.get());
  ASSERT_TRUE(reconciler.Adopt().ok());
  ASSERT_TRUE(reconciler.Apply(Config(GetParam())).ok());
  absl::StatusOr<GenerationQuery> generation = GenerationQuery::Open();
  ASSERT_TRUE(generation.ok()) << generation.status();

  double start = ThreadCpuMs();
  DriftOutcome full = checker.Check(DriftCheck{});
  const double full_ms = ThreadCpuMs() - start;
  ASSERT_TRUE(full.error.ok()) << full.error;
  EXPECT_TRUE(full.items.empty()) << full.items.size() << " items, first: "
                                  << (full.items.empty() ? "" : full.items[0].object)
                                  << " expected "
                                  << (full.items.empty() ? "" : full.items[0].expected) << " found "
                                  << (full.items.empty() ? "" : full.items[0].found);

  start = ThreadCpuMs();
  ASSERT_TRUE(generation->Current().ok());
  DriftOutcome skipped = checker.Check(DriftCheck{.nat = false});
  const double skipped_ms = ThreadCpuMs() - start;
  EXPECT_TRUE(skipped.items.empty());

  std::printf(
      "[ cost    ] %d elements: full verification %.1f ms CPU (%.3f%% of a core at a 30 s "
      "interval); generation unchanged, dump skipped: %.3f ms CPU\n",
      GetParam(), full_ms, full_ms / 30000 * 100, skipped_ms);
}

INSTANTIATE_TEST_SUITE_P(Elements, DriftCostTest, ::testing::Values(10000, 100000));

}  // namespace
}  // namespace ferry::agent
