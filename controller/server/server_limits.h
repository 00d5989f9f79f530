#ifndef FERRY_CONTROLLER_SERVER_SERVER_LIMITS_H_
#define FERRY_CONTROLLER_SERVER_SERVER_LIMITS_H_

// Transport limits every controller server gets, in one place so tests build
// their servers exactly as ferry-controller does.

#include <grpcpp/server_builder.h>

namespace ferry::controller {

struct ServerLimits {
  // Largest message accepted: a whole Apply (the benchmarks batch 100k
  // forwards into a few MiB) or an agent report. gRPC refuses a larger one
  // before parsing it, with RESOURCE_EXHAUSTED "Received message larger than
  // max (N vs. M)", and ends only that call or stream.
  int max_receive_bytes = 16 << 20;
  // Largest message sent: a node's whole config.
  int max_send_bytes = 256 << 20;
};

void ConfigureServer(const ServerLimits& limits, grpc::ServerBuilder* builder);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_SERVER_LIMITS_H_
