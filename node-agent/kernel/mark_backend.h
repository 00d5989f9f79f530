#ifndef FERRY_NODE_AGENT_KERNEL_MARK_BACKEND_H_
#define FERRY_NODE_AGENT_KERNEL_MARK_BACKEND_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// Owns exactly one nftables table, `inet ferry_return`, which marks each
// new connection by the frontend interface it arrived on, so its replies
// can be routed back through that frontend (kReturnMarkMask):
//   map marks { type ifname : mark }          e.g. "wg-b1" : 0x01000000
//   chain mark_in (filter, prerouting, mangle):
//     ct state new ct mark 0 ct mark set iifname map @marks
//   chain mark_out (route, output, mangle):
//     meta mark 0 ct mark and 0xff000000 != 0 meta mark set ct mark and 0xff000000
// Only connections and packets no other tool marked are touched, so Ferry
// never overwrites another's mark bits. The table is small (one element
// per frontend), so it is always rebuilt whole rather than patched.
class MarkBackend {
 public:
  virtual ~MarkBackend() = default;
  // The map's elements and how the table's fixed part differs from
  // Ferry's; table_present=false and no marks when the table is absent.
  virtual absl::StatusOr<MarkState> Load() = 0;
  // Makes table inet ferry_return hold exactly `marks`, rebuilt in one
  // atomic batch; an empty map deletes the table (no error if absent).
  // Invalid marks (see nft::ValidateReturnMarks) are InvalidArgument and
  // change nothing.
  virtual absl::Status Apply(const std::map<std::string, uint32_t>& marks) = 0;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_MARK_BACKEND_H_
