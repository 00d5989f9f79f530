#ifndef FERRY_CONTROLLER_SECURITY_CIDR_H_
#define FERRY_CONTROLLER_SECURITY_CIDR_H_

// An address block ("10.0.0.0/8", "fe80::/10") for the admission policy.
// api/lib/ip_address.h owns addresses and the prefix comparison; this adds
// only the text form of a block and its checks.

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/lib/ip_address.h"

namespace ferry::controller {

struct Cidr {
  IpAddress network;
  uint32_t prefix_length = 0;

  // Same family and inside the block.
  bool Contains(const IpAddress& address) const {
    return address.family() == network.family() && network.SameNetwork(address, prefix_length);
  }
};

// "ADDRESS/LEN", or a bare address for a single host. INVALID_ARGUMENT
// (quoting the text) for a bad address or length, and for host bits set
// ("10.0.0.1/8"), naming the block that was probably meant.
absl::StatusOr<Cidr> ParseCidr(absl::string_view text);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SECURITY_CIDR_H_
