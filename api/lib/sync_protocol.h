#ifndef FERRY_API_LIB_SYNC_PROTOCOL_H_
#define FERRY_API_LIB_SYNC_PROTOCOL_H_

// Words of the Sync stream both ends must agree on, beyond the protobufs.

namespace ferry {

// How an agent's NACK of a delta starts when it cannot apply the delta on
// what it holds (another base, a partial state, IPv6 that came or went);
// the controller then pushes the full config, and records no failure.
inline constexpr char kBaseVersionMismatch[] = "base version mismatch";

}  // namespace ferry

#endif  // FERRY_API_LIB_SYNC_PROTOCOL_H_
