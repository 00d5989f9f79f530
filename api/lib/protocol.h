#ifndef FERRY_API_LIB_PROTOCOL_H_
#define FERRY_API_LIB_PROTOCOL_H_

// The one spelling of a transport protocol, as nftables, ip-rule and
// ferryctl print it.

#include <cstdint>
#include <string>

#include "ferry/v1/ferry.pb.h"

namespace ferry::api {

// "tcp", "udp", or the number for any other IP protocol.
std::string IpProtocolName(uint8_t ip_protocol);

// IPPROTO_TCP / IPPROTO_UDP; 0 for an unspecified protocol.
uint8_t IpProtocolOf(ferry::v1::Protocol protocol);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_PROTOCOL_H_
