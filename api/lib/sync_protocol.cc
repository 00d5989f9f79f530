#include "api/lib/sync_protocol.h"

#include <algorithm>
#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ferry::api {
namespace {

// The payload is in-process only (statuses never cross the wire as such):
// the agent's apply path tags its refusal, its client turns the tag into
// ConfigAck.reason.
constexpr char kNackReasonPayload[] = "type.ferry.dev/ferry.v1.NackReason";

absl::Status WithNackReason(absl::Status status, ferry::v1::NackReason reason) {
  if (status.ok() || reason == ferry::v1::NACK_REASON_UNSPECIFIED) return status;
  status.SetPayload(kNackReasonPayload, absl::Cord(absl::StrCat(static_cast<int>(reason))));
  return status;
}

}  // namespace

absl::Status BaseVersionMismatch(absl::string_view detail) {
  return WithNackReason(
      absl::FailedPreconditionError(absl::StrCat("base version mismatch: ", detail)),
      ferry::v1::NACK_REASON_BASE_VERSION_MISMATCH);
}

ferry::v1::NackReason NackReasonOf(const absl::Status& status) {
  if (status.ok()) return ferry::v1::NACK_REASON_UNSPECIFIED;
  auto payload = status.GetPayload(kNackReasonPayload);
  int value = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &value) ||
      !ferry::v1::NackReason_IsValid(value)) {
    return ferry::v1::NACK_REASON_UNSPECIFIED;
  }
  return static_cast<ferry::v1::NackReason>(value);
}

ferry::v1::ConfigAck AckFor(absl::string_view version, absl::string_view nonce,
                            const absl::Status& status) {
  ferry::v1::ConfigAck ack;
  ack.set_version(std::string(version));
  ack.set_nonce(std::string(nonce));
  ack.set_accepted(status.ok());
  if (!status.ok()) {
    ack.set_error(std::string(status.message()));
    ack.set_reason(NackReasonOf(status));
  }
  return ack;
}

void AddAgentCapabilities(ferry::v1::Hello* hello) {
  hello->add_capabilities(ferry::v1::CAPABILITY_CONFIG_DELTA);
}

bool HasCapability(const ferry::v1::Hello& hello, ferry::v1::Capability capability) {
  return std::find(hello.capabilities().begin(), hello.capabilities().end(), capability) !=
         hello.capabilities().end();
}

}  // namespace ferry::api
