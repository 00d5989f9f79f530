#include "controller/server/server_limits.h"

namespace ferry::controller {
namespace {

// Agents ping every 10 s or more; below that the server would answer with
// GOAWAY "too_many_pings".
constexpr int kMinPingIntervalMs = 10000;

}  // namespace

void ConfigureServer(const ServerLimits& limits, grpc::ServerBuilder* builder) {
  builder->SetMaxReceiveMessageSize(limits.max_receive_bytes);
  builder->SetMaxSendMessageSize(limits.max_send_bytes);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                              kMinPingIntervalMs);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
}

}  // namespace ferry::controller
