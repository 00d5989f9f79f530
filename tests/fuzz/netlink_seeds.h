#ifndef FERRY_TESTS_FUZZ_NETLINK_SEEDS_H_
#define FERRY_TESTS_FUZZ_NETLINK_SEEDS_H_

// Seed inputs for netlink_fuzzer, built with the agent's own message
// builders so they stay in step with what the kernel would echo back.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ferry::agent::fuzz {

// (file name, raw bytes of one or more netlink messages).
std::vector<std::pair<std::string, std::string>> NetlinkSeeds();

// Writes NetlinkSeeds() into `dir`, which must exist.
absl::Status WriteNetlinkSeeds(absl::string_view dir);

}  // namespace ferry::agent::fuzz

#endif  // FERRY_TESTS_FUZZ_NETLINK_SEEDS_H_
