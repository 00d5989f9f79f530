#ifndef FERRY_API_LIB_SYNC_PROTOCOL_H_
#define FERRY_API_LIB_SYNC_PROTOCOL_H_

// What both ends of the Sync stream agree on beyond the protobufs: how an
// agent's refusal becomes a typed NackReason, and which capabilities an
// agent of this build announces. Decisions are made on these fields; the
// texts are for people.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::api {

// A refusal to apply a delta on what the agent holds (another base, a
// partial state, IPv6 that came or went). The message is "base version
// mismatch: <detail>" and the status carries
// NACK_REASON_BASE_VERSION_MISMATCH; the controller answers with the full
// config and records no failure.
absl::Status BaseVersionMismatch(absl::string_view detail);

// The reason `status` carries; NACK_REASON_UNSPECIFIED when it carries none
// (or is OK).
ferry::v1::NackReason NackReasonOf(const absl::Status& status);

// The ConfigAck for a push of `version` (nonce `nonce`) that ended with
// `status`: accepted when OK, else a NACK with the message and the reason.
ferry::v1::ConfigAck AckFor(absl::string_view version, absl::string_view nonce,
                            const absl::Status& status);

// Announces what this build of the agent supports.
void AddAgentCapabilities(ferry::v1::Hello* hello);

// True if the agent that said `hello` announced `capability`.
bool HasCapability(const ferry::v1::Hello& hello, ferry::v1::Capability capability);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_SYNC_PROTOCOL_H_
