#include "controller/security/cidr.h"

#include <array>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ferry::controller {

absl::StatusOr<Cidr> ParseCidr(absl::string_view text) {
  const size_t slash = text.find('/');
  absl::StatusOr<IpAddress> address = IpAddress::Parse(text.substr(0, slash));
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a CIDR block such as 10.0.0.0/8 or fd00::/8 (",
                     address.status().message(), ")"));
  }
  Cidr cidr;
  cidr.network = *address;
  const uint32_t bits = static_cast<uint32_t>(address->size() * 8);
  cidr.prefix_length = bits;
  if (slash == absl::string_view::npos) return cidr;

  const absl::string_view length = text.substr(slash + 1);
  uint32_t value = 0;
  if (length.empty() || length.size() > 3 ||
      length.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(length, &value) || value > bits) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": the prefix length must be 0..",
                                                   bits, ", got \"", length, "\""));
  }
  cidr.prefix_length = value;
  // The network address: the first `value` bits, the rest zero.
  std::array<uint8_t, 16> masked{};
  for (uint32_t i = 0; i < address->size(); ++i) {
    const uint32_t keep = value >= (i + 1) * 8 ? 8 : (value > i * 8 ? value - i * 8 : 0);
    const uint8_t mask = keep == 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - keep));
    masked[i] = address->data()[i] & mask;
  }
  const IpAddress network = IpAddress::FromBytes(address->family(), masked.data());
  if (network != *address) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" has host bits set; did you mean ", network.ToString(), "/", value, "?"));
  }
  return cidr;
}

}  // namespace ferry::controller
