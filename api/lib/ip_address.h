#ifndef FERRY_API_LIB_IP_ADDRESS_H_
#define FERRY_API_LIB_IP_ADDRESS_H_

#include <array>
#include <compare>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry {

enum class Family : uint8_t { kIPv4 = 4, kIPv6 = 6 };

// An IPv4 or IPv6 address as a value. IPv4 uses the first 4 bytes of
// `bytes`; the rest stay zero so that comparison is plain byte order.
class IpAddress {
 public:
  IpAddress() = default;
  static absl::StatusOr<IpAddress> Parse(absl::string_view text);
  static IpAddress FromBytes(Family family, const uint8_t* data);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kIPv4; }
  // 4 or 16.
  size_t size() const { return is_v4() ? 4 : 16; }
  const uint8_t* data() const { return bytes_.data(); }
  std::string ToString() const;
  // True if `other` lies in this address's /prefix_length network.
  bool SameNetwork(const IpAddress& other, uint32_t prefix_length) const;

  auto operator<=>(const IpAddress&) const = default;
  bool operator==(const IpAddress&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, const IpAddress& a) {
    return H::combine(std::move(h), a.family_, a.bytes_);
  }

 private:
  Family family_ = Family::kIPv4;
  std::array<uint8_t, 16> bytes_{};
};

}  // namespace ferry

#endif  // FERRY_API_LIB_IP_ADDRESS_H_
