#include "node-agent/probe/prober.h"

#include "absl/strings/str_cat.h"
#include "api/lib/conditions.h"

namespace ferry::agent {

const char* StatusName(ProbeStatus status) {
  switch (status) {
    case ProbeStatus::kTrue:
      return "True";
    case ProbeStatus::kFalse:
      return "False";
    case ProbeStatus::kUnknown:
      return "Unknown";
  }
  return "Unknown";
}

const char* ReasonOf(ProbeStatus status) {
  switch (status) {
    case ProbeStatus::kTrue:
      return api::kReasonVerified;
    case ProbeStatus::kFalse:
      return api::kReasonProbeFailed;
    case ProbeStatus::kUnknown:
      return api::kReasonUnproven;
  }
  return api::kReasonUnproven;
}

std::ostream& operator<<(std::ostream& out, const ProbeResult& result) {
  return out << StatusName(result.status) << ": " << result.message;
}

std::string Endpoint(const IpAddress& address, uint16_t port) {
  return address.is_v4() ? absl::StrCat(address.ToString(), ":", port)
                         : absl::StrCat("[", address.ToString(), "]:", port);
}

}  // namespace ferry::agent
