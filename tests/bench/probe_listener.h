#ifndef FERRY_TESTS_BENCH_PROBE_LISTENER_H_
#define FERRY_TESTS_BENCH_PROBE_LISTENER_H_

// The backend of the probe benchmark: a TCP listener that accepts every
// connection and holds it until the peer closes it, as a server waiting
// for a request does, and counts them. A data-path probe completes the
// handshake and resets the connection, so each accepted connection is one
// probe that reached the backend and got its answer back.

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "tests/bench/bench_netns.h"

namespace ferry::bench {

class ProbeListener {
 public:
  // Listens on 0.0.0.0:`port` in `ns` and accepts on its own thread.
  static absl::StatusOr<std::unique_ptr<ProbeListener>> Start(const Netns& ns, uint16_t port);
  ~ProbeListener();  // stops, closes every connection, joins

  ProbeListener(const ProbeListener&) = delete;
  ProbeListener& operator=(const ProbeListener&) = delete;

  // Connections accepted so far.
  int64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  // Accepted connections the peer has not closed yet.
  int64_t open() const { return open_.load(std::memory_order_relaxed); }

 private:
  ProbeListener(int listen_fd, int stop_fd) : listen_fd_(listen_fd), stop_fd_(stop_fd) {}
  void Run();

  const int listen_fd_;
  const int stop_fd_;  // eventfd: wakes Run to return
  std::atomic<int64_t> accepted_{0};
  std::atomic<int64_t> open_{0};
  std::thread thread_;
};

}  // namespace ferry::bench

#endif  // FERRY_TESTS_BENCH_PROBE_LISTENER_H_
