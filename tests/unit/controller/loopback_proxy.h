#ifndef FERRY_TESTS_UNIT_CONTROLLER_LOOPBACK_PROXY_H_
#define FERRY_TESTS_UNIT_CONTROLLER_LOOPBACK_PROXY_H_

// A TCP proxy on a loopback port, for tests that cut a client off from its
// server and let it back, at a moment of the test's choosing: Cut() closes
// every connection through the proxy and refuses new ones (the client sees
// its streams break and its reconnects fail) until Resume().

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace ferry::controller {

class LoopbackProxy {
 public:
  // Forwards to `upstream`, an http://127.0.0.1:<port> endpoint.
  static absl::StatusOr<std::unique_ptr<LoopbackProxy>> Start(const std::string& upstream);

  ~LoopbackProxy();
  LoopbackProxy(const LoopbackProxy&) = delete;
  LoopbackProxy& operator=(const LoopbackProxy&) = delete;

  // "http://127.0.0.1:<port>": where the client connects.
  std::string endpoint() const;

  // Closes every open connection and refuses new ones.
  void Cut();
  // Forwards new connections again.
  void Resume();

 private:
  struct Pipe {
    int client = -1;
    int upstream = -1;
    std::thread to_upstream;
    std::thread to_client;
  };

  LoopbackProxy(int listen_fd, int port, int upstream_port, int wake_read, int wake_write)
      : listen_fd_(listen_fd),
        port_(port),
        upstream_port_(upstream_port),
        wake_read_(wake_read),
        wake_write_(wake_write) {}

  void AcceptLoop();
  // Closes `pipes` after their threads have ended.
  static void CloseAll(std::vector<std::unique_ptr<Pipe>> pipes);

  const int listen_fd_;
  const int port_;
  const int upstream_port_;
  const int wake_read_;
  const int wake_write_;
  std::thread acceptor_;

  absl::Mutex mu_;
  bool cut_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<Pipe>> pipes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::controller

#endif  // FERRY_TESTS_UNIT_CONTROLLER_LOOPBACK_PROXY_H_
