#include "api/lib/protocol.h"

#include <netinet/in.h>

#include "absl/strings/str_cat.h"

namespace ferry::api {

std::string IpProtocolName(uint8_t ip_protocol) {
  if (ip_protocol == IPPROTO_TCP) return "tcp";
  if (ip_protocol == IPPROTO_UDP) return "udp";
  return absl::StrCat(static_cast<int>(ip_protocol));
}

uint8_t IpProtocolOf(ferry::v1::Protocol protocol) {
  switch (protocol) {
    case ferry::v1::TCP:
      return IPPROTO_TCP;
    case ferry::v1::UDP:
      return IPPROTO_UDP;
    default:
      return 0;
  }
}

}  // namespace ferry::api
