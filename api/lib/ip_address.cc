#include "api/lib/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ferry {

absl::StatusOr<IpAddress> IpAddress::Parse(absl::string_view text) {
  // inet_pton needs a NUL-terminated string; addresses are short.
  if (text.size() > INET6_ADDRSTRLEN) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text.substr(0, 48), "...\" is too long for an IP address"));
  }
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes_.data()) == 1) {
    a.family_ = Family::kIPv4;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes_.data()) == 1) {
    a.family_ = Family::kIPv6;
    return a;
  }
  return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IPv4 or IPv6 address"));
}

IpAddress IpAddress::FromBytes(Family family, const uint8_t* data) {
  IpAddress a;
  a.family_ = family;
  std::memcpy(a.bytes_.data(), data, family == Family::kIPv4 ? 4 : 16);
  return a;
}

std::string IpAddress::ToString() const {
  if (is_v4()) {
    // By hand: glibc's inet_ntop formats IPv4 with sprintf, which was a
    // tenth of the controller's planning time at 100k forwards.
    std::string out;
    out.reserve(15);
    for (int i = 0; i < 4; ++i) {
      if (i > 0) out.push_back('.');
      const unsigned v = bytes_[i];
      if (v >= 100) out.push_back(static_cast<char>('0' + v / 100));
      if (v >= 10) out.push_back(static_cast<char>('0' + v / 10 % 10));
      out.push_back(static_cast<char>('0' + v % 10));
    }
    return out;
  }
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, bytes_.data(), buf, sizeof(buf));
  return buf;
}

bool IpAddress::SameNetwork(const IpAddress& other, uint32_t prefix_length) const {
  if (family_ != other.family_) return false;
  uint32_t bits = std::min<uint32_t>(prefix_length, size() * 8);
  uint32_t full = bits / 8, rest = bits % 8;
  if (std::memcmp(bytes_.data(), other.bytes_.data(), full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (bytes_[full] & mask) == (other.bytes_[full] & mask);
}

}  // namespace ferry
